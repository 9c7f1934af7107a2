"""A name that is a path, sent to the control API or planted in a record, is refused with the field named
and nothing is served: the config name of CreateEndpoint, a config's model names, a model's algorithm."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.clock import utcnow
from mlops.core.files import sha256_file
from mlops.core.hosting import ContainerDefinition, EndpointConfig, Model, ProductionVariant
from mlops.hosting.app import HostingApp
from mlops.hosting.controller import Controller
from mlops.hosting.credentials import ControlCredentials
from mlops.hosting.fleet import InstanceManager
from mlops.hosting.guard import HostGuard
from mlops.hosting.store import HostingStore
from mlops.runtime.local_server import LocalModelServerRuntime
from mlops.serving.api import RouterHttp
from mlops.serving.router import EndpointRouter

# a `serve` that only leaves a mark: if it ever runs, a hostile name reached a process
SERVE = "#!/usr/bin/env python3\nfrom pathlib import Path\n(Path(__file__).parent / 'served').write_text('x')\n"
SPEC = {
    "AlgorithmName": "marker",
    "TrainingSpecification": {},
    "InferenceSpecification": {"SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
}


def _algorithm(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "algorithm.json").write_text(json.dumps(SPEC))
    (folder / "serve").write_text(SERVE)
    (folder / "serve").chmod(0o755)
    return folder


@dataclass
class Control:
    app: HostingApp
    controller: Controller
    store: HostingStore
    home: Path
    model_data: str
    marked: list[Path]

    def served(self) -> list[Path]:
        return [p for p in self.marked if p.exists()]


@pytest.fixture
def control(tmp_path: Path) -> Iterator[Control]:
    home = tmp_path / "home"
    catalog = AlgorithmCatalog(home / "algorithms")
    inside = _algorithm(home / "algorithms" / "marker")
    outside = _algorithm(home / "evil")  # reachable from the catalog as ../evil
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.bin")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"0"))
    (tmp_path / "model.tar.gz").write_bytes(archive.getvalue())
    store = HostingStore(home)
    for kind in ("models", "endpoint-configs"):  # a store in use: its folders exist
        (store.root / kind).mkdir(parents=True)
    router = EndpointRouter()
    instances = InstanceManager(LocalModelServerRuntime(home / "servers", catalog), store, log=lambda _: None)
    controller = Controller(store, router, instances, log=lambda _: None)
    credentials = ControlCredentials.for_home(home)
    yield Control(
        HostingApp(controller, RouterHttp(router), credentials, HostGuard.for_bind("127.0.0.1", 8085)),
        controller,
        store,
        home,
        str(tmp_path / "model.tar.gz"),
        [inside / "served", outside / "served"],
    )
    instances.executor.shutdown(wait=False)


async def _post(app: HostingApp, action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One authenticated request to the control API, as uvicorn hands it to the application."""
    incoming = [{"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/_control/{action}",
        "client": ("127.0.0.1", 40000),
        "headers": [
            (b"host", b"127.0.0.1:8085"),
            (b"content-type", b"application/json"),
            (b"authorization", app.credentials.authorization().encode()),
        ],
        "query_string": b"",
    }
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, json.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))


def _create(control: Control, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async def go() -> tuple[int, dict[str, Any]]:
        try:
            answer = await _post(control.app, "CreateEndpoint", body)
            await asyncio.sleep(0.5)  # time for a fleet to start, had the request been taken
            return answer
        finally:
            await control.controller.stop()

    return asyncio.run(go())


def _model(name: str, algorithm: str, model_data: str) -> Model:
    container = ContainerDefinition.model_construct(AlgorithmName=algorithm, Image=None, ModelDataUrl=model_data)
    return Model.model_construct(ModelName=name, ModelArn=f"arn:{name}", PrimaryContainer=container,
                                 ModelDataSha256=sha256_file(Path(model_data)), CreationTime=utcnow())


def _config(name: str, model: str) -> EndpointConfig:
    variant = ProductionVariant.model_construct(
        VariantName="blue", ModelName=model, InitialInstanceCount=1, InitialVariantWeight=1.0, InstanceType="local"
    )
    return EndpointConfig.model_construct(
        EndpointConfigName=name,
        EndpointConfigArn=f"arn:{name}",
        ProductionVariants=(variant,),
        ShadowProductionVariants=(),
        DataCaptureConfig=None,
        CreationTime=utcnow(),
    )


def _plant(path: Path, record: Model | EndpointConfig) -> None:
    """A record written by hand (the services refuse such names): what a hostile file would hold."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(record.model_dump_json())


def _nothing_happened(control: Control) -> None:
    assert control.served() == []
    assert control.controller.endpoints == {}
    assert control.store.endpoints() == []


def test_create_endpoint_with_a_config_name_that_is_a_path(control: Control) -> None:
    # ../../x from the configs' folder is HOME/x.json: a config there names a model of the store
    _plant(control.store.root / "models" / "m.json", _model("m", "marker", control.model_data))
    _plant(control.home / "x.json", _config("x", "m"))
    status, answer = _create(control, {"EndpointName": "churn", "EndpointConfigName": "../../x"})
    assert status == 400, answer
    assert answer["__type"] == "ValidationError"
    assert answer["message"].startswith("EndpointConfigName:") and "'../../x'" in answer["message"]
    _nothing_happened(control)


def test_create_endpoint_whose_config_names_a_model_that_is_a_path(control: Control) -> None:
    # ../x from the models' folder is HOSTING/x.json
    _plant(control.store.root / "x.json", _model("x", "marker", control.model_data))
    _plant(control.store.root / "endpoint-configs" / "cfg.json", _config("cfg", "../x"))
    status, answer = _create(control, {"EndpointName": "churn", "EndpointConfigName": "cfg"})
    assert status == 400, answer
    assert "ProductionVariants.0.ModelName" in answer["message"] and "'../x'" in answer["message"]
    _nothing_happened(control)


def test_create_endpoint_whose_model_names_an_algorithm_outside_the_catalog(control: Control) -> None:
    _plant(control.store.root / "models" / "m.json", _model("m", "../evil", control.model_data))
    _plant(control.store.root / "endpoint-configs" / "cfg.json", _config("cfg", "m"))
    status, answer = _create(control, {"EndpointName": "churn", "EndpointConfigName": "cfg"})
    assert status == 400, answer
    assert "PrimaryContainer.AlgorithmName" in answer["message"] and "'../evil'" in answer["message"]
    _nothing_happened(control)


def test_a_trailing_newline_in_a_name_is_refused(control: Control) -> None:
    _plant(control.store.root / "models" / "m.json", _model("m", "marker", control.model_data))
    _plant(control.store.root / "endpoint-configs" / "cfg.json", _config("cfg", "m"))
    status, answer = _create(control, {"EndpointName": "churn", "EndpointConfigName": "cfg\n"})
    assert status == 400 and answer["message"].startswith("EndpointConfigName:"), answer
    _nothing_happened(control)


def test_the_same_request_with_good_names_does_start_serve(control: Control) -> None:
    """The control case: the fixture's algorithm really runs when the names are good, so the tests above
    show a refusal, not a setup that could never serve."""
    _plant(control.store.root / "models" / "m.json", _model("m", "marker", control.model_data))
    _plant(control.store.root / "endpoint-configs" / "cfg.json", _config("cfg", "m"))

    async def go() -> int:
        try:
            status, _ = await _post(control.app, "CreateEndpoint", {"EndpointName": "churn", "EndpointConfigName": "cfg"})
            for _ in range(100):
                if control.served():
                    break
                await asyncio.sleep(0.1)
            return status
        finally:
            await control.controller.stop()

    assert asyncio.run(go()) == 200
    assert control.served() == [control.marked[0]]
