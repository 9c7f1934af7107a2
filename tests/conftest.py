"""Shared fixtures: small churn data and a settings object whose state lives in a temporary folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops.data.churn_sample import DemoFiles, write_demo_files
from mlops.settings import Settings

FIXTURE_ALGORITHMS = Path(__file__).parent / "fixtures" / "algorithms"


@pytest.fixture(scope="session")
def churn(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return write_demo_files(tmp_path_factory.mktemp("churn"), rows=3000, seed=11)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", stop_grace_seconds=5)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server over real HTTP on loopback, with the AWS_* variables boto3 needs pointed at it."""
    from moto.server import ThreadedMotoServer

    from mlops.runtime.health import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    keys = ("AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(dict(zip(keys, (endpoint, "testing", "testing", "us-east-1"), strict=True)))
    yield endpoint
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def make_bucket(endpoint: str, name: str) -> str:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    if name not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=name)
    return name
