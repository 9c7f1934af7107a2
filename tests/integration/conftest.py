"""Fixtures of the integration tests: one control process (`mlops router` in a subprocess) for every
SageMaker-API test of the session, so the slow start is paid once; tests give their resources names of
their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.test_hosting_support import Hosting


@pytest.fixture(scope="session")
def sagemaker_router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosting]:
    h = Hosting(tmp_path_factory.mktemp("sagemaker-api") / "home")
    h.start()
    yield h
    assert h.stop() == 0
