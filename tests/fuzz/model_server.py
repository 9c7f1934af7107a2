"""A contract model server as the algorithms run one (``serve()`` in its own process), with a handler
built on the payload codecs: what the model-server and router fuzz tests talk to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlops.runtime.health import free_port, ping

MAX_BYTES = 4096  # MLOPS_MAX_PAYLOAD_BYTES: small, so that 413 is cheap to reach
HANDLER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from mlops.contract.errors import AlgorithmError
    from mlops.contract.payloads import decode_features, encode_predictions
    from mlops.contract.serving import serve

    class RowSums:
        def model_fn(self, model_dir):
            return None
        def input_fn(self, body, content_type):
            return decode_features(body, content_type)
        def predict_fn(self, data, model):
            if data.shape[0] == 0:
                raise AlgorithmError("the request holds no rows")
            return [{"score": float(s)} for s in np.asarray(data.sum(axis=1)).ravel()]
        def output_fn(self, prediction, accept):
            return encode_predictions(prediction, accept)

    sys.exit(serve(RowSums()))
    """
)
HANGUPS = ("BrokenPipeError", "ConnectionResetError")  # answering a client that already left


@contextmanager
def running_model_server(root: Path) -> Iterator[int]:
    """Its port; on exit the server is stopped, and every unhandled exception it logged fails the test."""
    (root / "model").mkdir(exist_ok=True)
    script = root / "serve.py"
    script.write_text(HANDLER)
    port = free_port()
    env = {
        **os.environ,
        "MLOPS_CONTRACT_ROOT": str(root),
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "MLOPS_MAX_PAYLOAD_BYTES": str(MAX_BYTES),
    }
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=log, stderr=log, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while not ping(f"http://127.0.0.1:{port}") and time.monotonic() < deadline:
                assert proc.poll() is None, log_path.read_text()
                time.sleep(0.1)
            yield port
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
    errors = unhandled(log_path)
    assert not errors, "the model server logged an unhandled exception:\n" + "\n".join(errors)


def unhandled(log: Path) -> list[str]:
    """The tracebacks socketserver logged (one per failed request), but for clients that hung up."""
    blocks = log.read_text().split("-" * 40)
    return [b.strip()[-2000:] for b in blocks if "Traceback" in b and not b.strip().splitlines()[-1].startswith(HANGUPS)]
