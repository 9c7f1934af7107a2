"""A hostile algorithm for the boundary tests (no tests here): stdlib only, so it runs as a local process
and, built on the bare base image, as a container. Its ``attack`` hyperparameter picks what it tries
against the host; ``target`` names a host file it aims at. Every attempt prints what happened."""

from __future__ import annotations

HOSTILE = "conformance-hostile"

_TRAIN = r"""#!/usr/bin/env python3
import json
import os
import shutil
import sys
import time

root = os.environ.get("MLOPS_CONTRACT_ROOT", "/opt/ml")
with open(os.path.join(root, "input/config/hyperparameters.json")) as f:
    hp = json.load(f)
attack, target = hp["attack"], hp.get("target", "")
data = os.path.join(root, "input", "data")
model = os.path.join(root, "model")
print(f"hostile: {attack}", flush=True)


def attempt(what, action):
    try:
        action()
        print(f"hostile: {what}: done", flush=True)
    except OSError as e:
        print(f"hostile: {what}: refused ({e.strerror})", flush=True)


def wait_for(path):
    deadline = time.monotonic() + 30
    while not os.path.lexists(path):
        if time.monotonic() > deadline:
            sys.exit(f"{path} never appeared")
        time.sleep(0.01)


def replace_with_link(path):
    os.unlink(path)
    os.symlink(target, path)


def move_data_away():
    os.rename(os.path.join(root, "input"), os.path.join(root, "input-moved"))
    os.makedirs(data)
    os.symlink(target, os.path.join(data, "train_1"))


if attack in ("pipe-symlink", "pipe-rename"):
    # take epoch 0 (the supervisor is still writing it: the channel is larger than a pipe's buffer),
    # put a link to the target where the supervisor will open epoch 1, then read epoch 0 to its end
    with open(os.path.join(data, "train_0"), "rb") as fifo:
        wait_for(os.path.join(data, "train_1"))
        if attack == "pipe-symlink":
            attempt("replace train_1 with a link", lambda: replace_with_link(os.path.join(data, "train_1")))
        else:
            attempt("move input/ away and plant a link", move_data_away)
        size = 0
        while block := fifo.read(1 << 16):
            size += len(block)
    print(f"hostile: read {size} bytes from train_0", flush=True)
    time.sleep(1.5)  # the supervisor goes on to epoch 1 meanwhile
elif attack == "failure-symlink":
    os.makedirs(os.path.join(root, "output"), exist_ok=True)
    os.symlink(target, os.path.join(root, "output", "failure"))
    sys.exit(1)
elif attack == "failure-fifo":  # nobody ever writes to it: a reader that opens it waits forever
    os.makedirs(os.path.join(root, "output"), exist_ok=True)
    os.mkfifo(os.path.join(root, "output", "failure"))
    sys.exit(1)
elif attack == "failure-huge":
    with open(os.path.join(root, "output", "failure"), "w") as f:
        for _ in range(256):
            f.write(" " * 32767 + "\n")
        f.write("the tail of a huge failure file")
    sys.exit(1)
elif attack == "model-symlink":  # the supervisor would pack the target folder as the model
    shutil.rmtree(model, ignore_errors=True)
    os.symlink(target, model)
    sys.exit(0)
elif attack == "output-symlink":
    os.rmdir(os.path.join(root, "output", "data"))
    os.symlink(target, os.path.join(root, "output", "data"))
elif attack == "write-input":
    for name in sorted(os.listdir(os.path.join(data, "train"))):
        path = os.path.join(data, "train", name)

        def overwrite(path=path):
            with open(path, "r+b") as f:
                f.write(b"CORRUPTED")

        def append(path=path):
            with open(path, "ab") as f:
                f.write(b"\nCORRUPTED\n")

        attempt(f"overwrite {name}", overwrite)
        attempt(f"append to {name}", append)
elif attack == "environment":
    os.makedirs(model, exist_ok=True)
    with open(os.path.join(model, "environment.json"), "w") as f:
        json.dump(dict(os.environ), f)
else:
    sys.exit(f"unknown attack {attack}")
os.makedirs(model, exist_ok=True)
with open(os.path.join(model, "done"), "w") as f:
    f.write(attack)
"""

_SERVE = r'''#!/usr/bin/env python3
"""Answers /ping, and /invocations with its own environment as JSON."""
import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def _answer(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._answer(b"{}")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(json.dumps(dict(os.environ)).encode())

    def log_message(self, *args):
        pass


host = os.environ.get("MLOPS_BIND_HOST", "127.0.0.1")
HTTPServer((host, int(os.environ.get("SAGEMAKER_BIND_TO_PORT", "8080"))), Handler).serve_forever()
'''

HOSTILE_FILES: dict[str, str] = {
    "algorithm.json": """{
  "AlgorithmName": "conformance-hostile",
  "AlgorithmVersion": "1.0",
  "AlgorithmDescription": "Test double: attacks the host through the contract's files (see tests/conformance/hostile.py).",
  "TrainingSpecification": {"MetricDefinitions": []},
  "InferenceSpecification": {"SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["application/json"]}
}
""",
    "train": _TRAIN,
    "serve": _SERVE,
    "Dockerfile": """FROM local/base:bookworm
COPY algorithm.json train serve /opt/program/
ENV PATH=/opt/program:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PYTHONUNBUFFERED=1
WORKDIR /opt/program
""",
}
