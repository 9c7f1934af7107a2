"""The monitoring use cases wired from settings: the one place that turns a home's settings into the
folders, stores and object stores the use cases of ``services/monitoring.py`` take. The CLI and Airflow
call it."""

from __future__ import annotations

from functools import partial

from mlops.hosting.store import HostingStore
from mlops.monitoring.baseline import BaselineStore
from mlops.runtime.job_store import JobStore
from mlops.services.datasets import dataset_store
from mlops.services.monitoring import Monitoring
from mlops.settings import Settings
from mlops.store.interface import open_store


def monitoring_from_settings(settings: Settings) -> Monitoring:
    """HOME/monitoring for baselines, schedules, runs, ground truth, alerts and retraining state;
    HOME/alerting.yaml for the alert targets."""
    folders = settings.paths.monitoring
    return Monitoring(
        folders=folders,
        alerting=settings.paths.alerting,
        baselines=BaselineStore(folders.baselines),
        hosting=HostingStore(settings.home),
        training_jobs=JobStore(settings.paths.jobs),
        datasets=dataset_store(settings),
        object_store=partial(open_store, s3_endpoint_url=settings.s3_endpoint_url),
        algorithms_dir=settings.algorithms_dir,
        s3_endpoint_url=settings.s3_endpoint_url,
    )
