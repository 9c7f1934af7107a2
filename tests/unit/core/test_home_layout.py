"""Home owns every place under MLOPS_HOME: each is listed here, distinct from the others and under the root."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.core.errors import ValidationError
from mlops.core.home import Home, MonitoringHome
from mlops.settings import Settings

HOME_PLACES = {
    "jobs": "jobs",
    "tuning_jobs": "tuning-jobs",
    "datasets": "datasets",
    "artifacts": "artifacts",
    "mlflow_db": "mlflow.db",
    "mlflow_artifacts": "mlflow-artifacts",
    "hosting": "hosting",
    "servers": "servers",
    "credentials": "credentials",
    "capture": "capture",
    "capture_spool": "capture-spool",
    "monitoring": "monitoring",
    "alerting": "alerting.yaml",
    "logs": "logs",
    "airflow": "airflow",
    "airflow_demo": "airflow-demo",
    "bundled": "bundled",
    "demo_data": "demo/data",
    "build": "build",
    "wheelhouse": "wheelhouse",
}
MONITORING_PLACES = {
    "baselines": "baselines",
    "schedules": "schedules",
    "runs": "runs",
    "ground_truth": "ground-truth",
    "alerts": "alerts",
    "retrain": "retrain",
}


def _properties(cls: type) -> set[str]:
    return {name for name, value in vars(cls).items() if isinstance(value, property)}


def _path(place: object) -> Path:
    return place.root if isinstance(place, MonitoringHome) else Path(str(place))


def test_every_place_is_listed_distinct_and_under_the_root(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    assert _properties(Home) == set(HOME_PLACES) and _properties(MonitoringHome) == set(MONITORING_PLACES)
    paths = {name: _path(getattr(home, name)) for name in HOME_PLACES}
    assert {name: str(p.relative_to(home.root)) for name, p in paths.items()} == HOME_PLACES
    monitoring = {name: getattr(home.monitoring, name) for name in MONITORING_PLACES}
    assert {n: str(p.relative_to(home.monitoring.root)) for n, p in monitoring.items()} == MONITORING_PLACES
    every = [*paths.values(), *monitoring.values()]
    assert len(set(every)) == len(every)
    for a in every:  # no place is inside another, except monitoring's inside monitoring
        for b in every:
            if a != b and a.is_relative_to(b):
                assert b == home.monitoring.root, f"{a} is inside {b}"
    assert not (tmp_path / "home").exists()  # naming places creates nothing


def test_an_endpoints_monitoring_folders_are_checked_names(tmp_path: Path) -> None:
    monitoring = Home(tmp_path).monitoring
    assert monitoring.runs_of("ep") == (tmp_path / "monitoring" / "runs" / "ep").resolve()
    assert monitoring.ground_truth_of("ep") == (tmp_path / "monitoring" / "ground-truth" / "ep").resolve()
    for call in (monitoring.runs_of, monitoring.ground_truth_of):
        with pytest.raises(ValidationError) as e:
            call("../ep")
        assert e.value.field == "EndpointName"


def test_settings_hand_out_the_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    assert settings.paths == Home(settings.home)
    assert settings.jobs_dir == settings.paths.jobs
    assert settings.artifacts == str(settings.paths.artifacts)
    assert settings.mlflow_uri == f"sqlite:///{settings.paths.mlflow_db}"
