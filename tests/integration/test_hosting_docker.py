"""The same control process with model servers as containers (`mlops router --runtime docker`): served,
invoked with boto3, and no container left behind when the control process is killed or stopped."""

from __future__ import annotations

import signal
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest

from mlops.cli.hosting_flags import parse_variant
from mlops.core.files import sha256_file
from mlops.runtime.docker_engine import LABEL_SERVER
from mlops.services.hosting_wiring import create_endpoint_config, create_model
from mlops.settings import Settings
from tests.integration.test_hosting_support import ROW, Hosting, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.docker]
IMAGE = "mlops/xgboost:latest"


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env()
        client.ping()
    except Exception as e:
        pytest.skip(f"no Docker engine: {e}")
    try:
        client.images.get(IMAGE)
    except Exception:
        pytest.skip(f"image {IMAGE} not built (mlops images build xgboost)")
    yield client
    client.close()


def tiny_xgboost_model(folder: Path) -> Path:
    import xgboost as xgb

    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 22)).astype(np.float32)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "nthread": 1},
                        xgb.DMatrix(features, label=(features[:, 0] > 0).astype(np.float32)), num_boost_round=5)
    folder.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(folder / "xgboost-model.json"))
    (folder / "xgboost-model.json").rename(folder / "xgboost-model")
    with tarfile.open(folder / "model.tar.gz", "w:gz") as tar:
        tar.add(folder / "xgboost-model", arcname="xgboost-model")
    return folder / "model.tar.gz"


def existing(engine: Any, ids: set[str]) -> set[str]:
    return {c.id for c in engine.containers.list(all=True, filters={"label": LABEL_SERVER})} & ids


def test_containers_serve_and_never_outlive_the_control_process(engine: Any, tmp_path: Path) -> None:
    hosting = Hosting(tmp_path / "home", router_args=("--runtime", "docker"))
    hosting.start()
    try:
        settings = Settings(home=hosting.home)
        archive = tiny_xgboost_model(tmp_path / "model")  # made here, so the test vouches for its sha256
        create_model(settings, "tiny", str(archive), algorithm="xgboost", model_sha256=sha256_file(archive))
        create_endpoint_config(settings, "cfg", [parse_variant("name=AllTraffic,model=tiny,instances=2")])
        hosting.create_endpoint("dock", "cfg")
        ours = {i["ContainerId"] for i in hosting.instances()}
        assert len(ours) == 2 and existing(engine, ours) == ours
        client = boto3.client("sagemaker-runtime", endpoint_url=hosting.url, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x")
        answer = client.invoke_endpoint(EndpointName="dock", Body=ROW.encode(), ContentType="text/csv")
        assert answer["InvokedProductionVariant"] == "AllTraffic" and 0 <= float(answer["Body"].read()) <= 1

        assert hosting.stop(signal.SIGKILL) == -signal.SIGKILL
        wait_until(lambda: not existing(engine, ours), 60, "the watchdog to remove the containers")

        hosting.start()  # back on the same config, in new containers
        hosting.wait_status("dock", "InService", timeout=120)
        ours = {i["ContainerId"] for i in hosting.instances()}
        assert len(ours) == 2 and existing(engine, ours) == ours
        assert client.invoke_endpoint(EndpointName="dock", Body=ROW.encode(), ContentType="text/csv")["Body"].read()
        assert hosting.stop(signal.SIGTERM) == 0
        assert not existing(engine, ours)
    finally:
        hosting.close()
