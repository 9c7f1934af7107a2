"""One place that reads the time, so records agree on UTC and tests can reason about it."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def timestamp_slug(moment: datetime | None = None) -> str:
    """SageMaker's job-name timestamp: 2026-11-22-02-50-12-123."""
    m = moment or utcnow()
    return m.strftime("%Y-%m-%d-%H-%M-%S-") + f"{m.microsecond // 1000:03d}"
