"""`mlops train` opens MLflow on a thread while its job runs: the tracker it hands over is the one
``open_tracker`` gives, and an error while opening reaches the first tracking call."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from mlops.services.tracking import TrackerOpening, open_tracker
from mlops.settings import Settings


def test_the_tracker_opened_meanwhile_is_the_one_open_tracker_gives(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    tracker = TrackerOpening(settings).tracker()
    assert tracker.uri == settings.mlflow_uri
    assert tracker.experiment_id() == open_tracker(settings).experiment_id()
    assert gc.isenabled()


def test_an_error_while_opening_is_raised_by_the_first_tracking_call(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, tracking_uri=f"sqlite:///{tmp_path / 'missing-folder' / 'x' / 'mlflow.db'}")
    (tmp_path / "missing-folder").write_text("a file where the store's folder should be")
    tracker = TrackerOpening(settings).tracker()
    with pytest.raises(NotADirectoryError):  # met on the thread first, kept nowhere, raised again here
        tracker.experiment_id()
    assert gc.isenabled()
