"""Monitoring schedules as YAML files (one schedule per file), and the window a scheduled run covers.

An Airflow DAG factory turns each schedule into one DAG: ``load_schedules(folder)`` gives the records,
``MonitoringSchedule.ScheduleConfig.interval`` the DAG's schedule, and ``window_for(data_interval_start,
data_interval_end)`` the window a run monitors. Nothing here imports Airflow.

A schedule file, e.g. ``monitoring/example-schedule.yaml``::

    MonitoringScheduleName: churn-endpoint
    EndpointName: churn-endpoint
    BaselineName: churn
    ScheduleConfig: {ScheduleExpression: rate(1 hour)}
    Monitors: [data-quality, {MonitoringType: data-drift, Retrain: true}, model-quality, bias, attribution]
    Bias: {Facet: gender}
    AlertTargets: [oncall]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError as PydanticValidationError

from mlops.core.errors import ConflictError, ValidationError
from mlops.core.files import path_under, write_atomic
from mlops.core.ids import check_name
from mlops.core.monitoring import MonitoringSchedule

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class MonitoringWindow:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def run_name(self, endpoint: str) -> str:
        """One name per endpoint and window, so a retried run replaces its own results."""
        return f"{endpoint}-{self.start:%Y%m%dT%H%M%SZ}-{self.end:%Y%m%dT%H%M%SZ}"


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None:
        raise ValidationError(what, f"{moment.isoformat()} has no time zone; pass an aware datetime (UTC)")
    return moment.astimezone(UTC)


def window_for(
    data_interval_start: datetime, data_interval_end: datetime, offset: timedelta = timedelta(0)
) -> MonitoringWindow:
    """The window a run for Airflow's data interval monitors: the interval itself, moved ``offset``
    into the past (so labels that arrive late are there when model quality runs). Pure."""
    start, end = _utc(data_interval_start, "data_interval_start"), _utc(data_interval_end, "data_interval_end")
    if end <= start:
        raise ValidationError("window", f"ends ({end.isoformat()}) at or before it starts ({start.isoformat()})")
    if offset < timedelta(0):
        raise ValidationError("offset", "must not be negative")
    return MonitoringWindow(start - offset, end - offset)


def window_ending(end: datetime, length: timedelta) -> MonitoringWindow:
    """The window of ``length`` that ends at ``end`` (``mlops monitor run --window 1h``)."""
    if length <= timedelta(0):
        raise ValidationError("--window", "must be positive")
    return window_for(end - length, end)


def _monitors(items: Any) -> Any:
    """Monitors may be written as bare names: ``[data-quality, {MonitoringType: data-drift, Retrain: true}]``."""
    if not isinstance(items, list):
        return items
    return [{"MonitoringType": item} if isinstance(item, str) else item for item in items]


def parse_schedule(document: Any, where: str) -> MonitoringSchedule:
    if not isinstance(document, dict):
        raise ValidationError(where, "a schedule file holds one mapping (MonitoringScheduleName: …, Monitors: …)")
    document = {**document, "Monitors": _monitors(document.get("Monitors"))}
    try:
        schedule = MonitoringSchedule.model_validate(document)
    except PydanticValidationError as e:
        item = e.errors()[0]
        field = ".".join(str(p) for p in item["loc"]) or "schedule"
        raise ValidationError(where, f"{field}: {item['msg']}") from None
    check_name(f"{where}: MonitoringScheduleName", schedule.MonitoringScheduleName)
    return schedule


def load_schedule(path: Path) -> MonitoringSchedule:
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ValidationError(str(path), f"not valid YAML: {e}") from None
    return parse_schedule(document, str(path))


def schedule_files(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders if folder.is_dir() for p in folder.iterdir() if p.suffix in SUFFIXES)


def load_schedules(*folders: Path) -> list[MonitoringSchedule]:
    """Every schedule file of the folders (``*.yaml``, ``*.yml``); names must be unique."""
    out: dict[str, tuple[MonitoringSchedule, Path]] = {}
    for path in schedule_files(*folders):
        schedule = load_schedule(path)
        if schedule.MonitoringScheduleName in out:
            other = out[schedule.MonitoringScheduleName][1]
            raise ConflictError(f"schedule {schedule.MonitoringScheduleName!r} is defined in {other} and in {path}")
        out[schedule.MonitoringScheduleName] = (schedule, path)
    return [s for s, _ in out.values()]


def dump_schedule(schedule: MonitoringSchedule) -> str:
    document = schedule.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    return str(yaml.safe_dump(document, sort_keys=False))


def save_schedule(folder: Path, schedule: MonitoringSchedule) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    name = check_name("MonitoringScheduleName", schedule.MonitoringScheduleName)
    path = path_under(folder, f"{name}.yaml", field="MonitoringScheduleName")
    write_atomic(path, dump_schedule(schedule))
    return path
