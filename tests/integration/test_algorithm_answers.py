"""What each algorithm's algorithm.json says its model server answers (InferenceSpecification's
ResponseFormats and DefaultResponseMIMEType, shown by `mlops algorithms describe`) against what the real
server answers: one binary classifier per algorithm, trained on the churn split and served locally."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.contract.recordio import decode_label_maps
from mlops.core.algorithm import AlgorithmSpec
from mlops.core.training import TrainingJob
from mlops.data.churn_sample import DemoFiles
from mlops.services.runtimes import server_runtime, training_runtime
from mlops.services.training import TrainingInput, start_training
from mlops.settings import Settings

# A binary classifier of each algorithm in the catalog (a new algorithm must be added here, so that what
# its algorithm.json says it answers is checked too).
BINARY = {
    "xgboost": {"objective": "binary:logistic", "num_round": "5", "nthread": "1"},
    "linear-learner": {"predictor_type": "binary_classifier", "epochs": "2"},
    "byoc-example": {"max_iterations": "5"},
}
ROWS = 2  # as in each Example


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("answers") / "home", stop_grace_seconds=5)


@pytest.fixture(scope="module")
def jobs(settings: Settings, churn: DemoFiles) -> Iterator[dict[str, TrainingJob]]:
    runtime = training_runtime(settings)
    catalog = AlgorithmCatalog(settings.algorithms_dir)
    assert set(catalog.names()) == set(BINARY), "name a binary classifier of each algorithm in BINARY"
    channels = {"train": str(churn.train), "validation": str(churn.validation)}
    for name, hyperparameters in BINARY.items():
        start_training(runtime, catalog, TrainingInput(name, channels, hyperparameters, job_name=name), settings.artifacts)
    finished = {name: runtime.wait(name) for name in BINARY}
    for job in finished.values():
        assert job.TrainingJobStatus.value == "Completed", job.FailureReason
    yield finished


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


def _cell(text: str) -> str:
    float(text)  # every cell is a number
    return "int" if re.fullmatch(r"-?\d+", text) else "float"


def shape(mime_type: str, body: bytes) -> list[tuple[tuple[str, str], ...]]:
    """Per row: its fields with the kind of each value (for CSV the columns are unnamed: ``#1``, ``#2`` …)."""
    if mime_type == "application/json":
        document = json.loads(body)
        assert set(document) == {"predictions"}
        return [tuple((k, _kind(v)) for k, v in row.items()) for row in document["predictions"]]
    if mime_type == "application/jsonlines":
        rows = [json.loads(line) for line in body.decode().splitlines() if line]
        return [tuple((k, _kind(v)) for k, v in row.items()) for row in rows]
    if mime_type == "text/csv":
        lines = [line for line in body.decode().splitlines() if line]
        return [tuple((f"#{i}", _cell(c)) for i, c in enumerate(line.split(","), start=1)) for line in lines]
    if mime_type == "application/x-recordio-protobuf":
        return [tuple((k, f"float32[{len(v)}]") for k, v in record.items()) for record in decode_label_maps(body)]
    raise AssertionError(f"no reader for {mime_type} in this test")


def post(url: str, body: bytes, accept: str | None) -> tuple[str, bytes]:
    headers = {"Content-Type": "text/csv", **({"Accept": accept} if accept else {})}
    request = urllib.request.Request(url + "/invocations", data=body, method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers.get("Content-Type", "").split(";")[0], bytes(response.read())


@pytest.mark.parametrize("algorithm", sorted(BINARY))
def test_the_server_answers_what_algorithm_json_says(
    algorithm: str, jobs: dict[str, TrainingJob], settings: Settings, churn: DemoFiles
) -> None:
    spec: AlgorithmSpec = AlgorithmCatalog(settings.algorithms_dir).get(algorithm)
    inference = spec.InferenceSpecification
    documented = [f.MIMEType for f in inference.ResponseFormats]
    assert sorted(documented) == sorted(inference.SupportedResponseMIMETypes), "describe every response type"
    rows = [line.split(",", 1)[1] for line in churn.test.read_text().splitlines()[:ROWS]]  # features only
    body = "\n".join(rows).encode()

    job = jobs[algorithm]
    servers = server_runtime(settings)
    assert job.ModelArtifacts is not None
    server = servers.start_server(algorithm, job.ModelArtifacts.S3ModelArtifacts, job.ModelArtifactSha256)
    try:
        for answer in inference.ResponseFormats:
            kind, received = post(server.url, body, answer.MIMEType)
            assert kind == answer.MIMEType
            got = shape(kind, received)
            assert len(got) == ROWS, (kind, received)
            names = [name for name, _ in got[0]]
            if kind == "text/csv":
                assert len(names) == len(answer.Fields), (answer.Fields, received)
            else:
                assert names == list(answer.Fields), (kind, received)
            if answer.Example is not None:  # the example has the real answer's shape, value kinds included
                assert shape(kind, answer.Example.encode()) == got, (answer.Example, received)
        kind, _ = post(server.url, body, None)
        assert kind == (inference.DefaultResponseMIMEType or "text/csv"), "the answer type without an Accept header"
    finally:
        servers.stop_server(server)
