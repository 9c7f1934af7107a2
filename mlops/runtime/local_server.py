"""Model servers as local processes: the algorithm's ``serve`` entry point with the model (checked by
sha256, then unpacked) in a fresh contract root, bound to a free loopback port."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.contract.layout import ROOT_ENV, Layout
from mlops.core.errors import ValidationError
from mlops.core.files import PRIVATE_FOLDER_MODE, private_opener
from mlops.runtime.environment import process_environment
from mlops.runtime.health import free_port, tail, wait_until_healthy
from mlops.runtime.interface import ModelServer
from mlops.runtime.packing import unpack_archive
from mlops.store.interface import open_store, sha256_file

STOP_GRACE_SECONDS = 30.0


def fetch_model(model_data: str, model_sha256: str | None, folder: Path) -> Layout:
    """Download model.tar.gz, check its sha256 before anything reads it, unpack into folder/opt/ml/model."""
    archive = open_store(model_data).get_file(model_data, folder / "model.tar.gz")
    if model_sha256 is not None:
        actual = sha256_file(archive)
        if actual != model_sha256:
            raise ValidationError(
                "model data",
                f"{model_data}: sha256 {actual} does not match the recorded {model_sha256}; refusing to serve",
            )
    layout = Layout(folder / "opt" / "ml")
    unpack_archive(archive, layout.model_dir)
    archive.unlink()
    return layout


class LocalModelServerRuntime:
    def __init__(self, servers_dir: Path, catalog: AlgorithmCatalog, workers: int = 1) -> None:
        self.servers_dir = servers_dir.resolve()  # the server runs with its algorithm folder as cwd
        self.catalog = catalog
        self.workers = workers
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    def start_server(
        self, algorithm: str, model_data: str, model_sha256: str | None, environment: dict[str, str] | None = None
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
