"""Model servers as local processes: the algorithm's ``serve`` entry point with the model (checked
against its recorded sha256, then unpacked) in a fresh contract root, bound to a free loopback port."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import BinaryIO

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.contract.layout import ROOT_ENV, Layout
from mlops.core.digests import check_sha256
from mlops.core.errors import ValidationError
from mlops.core.files import PRIVATE_FOLDER_MODE, private_opener
from mlops.runtime.environment import process_environment
from mlops.runtime.health import free_port, tail, wait_until_healthy
from mlops.runtime.interface import ModelServer
from mlops.runtime.packing import unpack_archive
from mlops.store.interface import open_store

STOP_GRACE_SECONDS = 30.0


def fetch_model(model_data: str, model_sha256: str, folder: Path) -> Layout:
    """Download model.tar.gz, copy it into an unnamed private file while hashing it, refuse it unless
    its sha256 is ``model_sha256``, then unpack those very bytes (the path is never read twice, so
    nothing written to it after the check reaches the model folder) into folder/opt/ml/model."""
    if not model_sha256:
        raise ValidationError("model_sha256", f"{model_data}: no sha256 is recorded; refusing to serve it unchecked")
    expected = check_sha256("model_sha256", model_sha256)
    staged = open_store(model_data).get_file(model_data, folder / "model.tar.gz")
    try:
        with tempfile.TemporaryFile(dir=folder) as private:
            actual = _copy_hashing(staged, private)
            if actual != expected:
                raise ValidationError(
                    "model data",
                    f"{model_data}: sha256 {actual} does not match the recorded {expected}; refusing to serve",
                )
            private.seek(0)
            layout = Layout(folder / "opt" / "ml")
            unpack_archive(private, layout.model_dir, Path(model_data).name)
    finally:
        staged.unlink(missing_ok=True)
    return layout


def _copy_hashing(source: Path, target: BinaryIO, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(source, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
            target.write(block)
    target.flush()
    return digest.hexdigest()


class LocalModelServerRuntime:
    def __init__(self, servers_dir: Path, catalog: AlgorithmCatalog, workers: int = 1) -> None:
        self.servers_dir = servers_dir.resolve()  # the server runs with its algorithm folder as cwd
        self.catalog = catalog
        self.workers = workers
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    def start_server(
        self, algorithm: str, model_data: str, model_sha256: str, environment: dict[str, str] | None = None
    ) -> ModelServer:
        algorithm_folder = self.catalog.folder(algorithm).resolve()
        instance_id = f"{algorithm}-{uuid.uuid4().hex[:8]}"
        folder = self.servers_dir / instance_id
        folder.mkdir(PRIVATE_FOLDER_MODE, parents=True)
        try:
            layout = fetch_model(model_data, model_sha256, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        port = free_port()
        env = process_environment(
            {"SAGEMAKER_MODEL_SERVER_WORKERS": str(self.workers), **(environment or {})},
            {
                ROOT_ENV: str(layout.root),
                "SAGEMAKER_BIND_TO_PORT": str(port),
                "MLOPS_BIND_HOST": "127.0.0.1",
                "PYTHONUNBUFFERED": "1",
            },
        )
        log_path = folder / "server.log"
        with open(log_path, "wb", opener=private_opener) as log:
            proc = subprocess.Popen(
                [sys.executable, str(algorithm_folder / "serve")],
                cwd=str(algorithm_folder),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._processes[instance_id] = proc
        server = ModelServer(instance_id=instance_id, url=f"http://127.0.0.1:{port}", pid=proc.pid)
        try:
            wait_until_healthy(
                server.url,
                lambda: proc.poll() is None,
                f"model server for algorithm {algorithm!r}",
                lambda: tail(log_path.read_text(errors="replace")),
            )
        except BaseException:
            self.stop_server(server)
            raise
        return server

    def stop_server(self, server: ModelServer) -> None:
        proc = self._processes.pop(server.instance_id, None)
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=STOP_GRACE_SECONDS)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(self.servers_dir / server.instance_id / "opt", ignore_errors=True)
