"""Shared fixtures: small churn data and a settings object whose state lives in a temporary folder."""

from __future__ import annotations

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
