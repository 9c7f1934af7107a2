"""Names of jobs and other records, following SageMaker's naming rules."""

from __future__ import annotations

import re
from datetime import datetime

from mlops.core.clock import timestamp_slug
from mlops.core.errors import ValidationError

# SageMaker: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def check_name(field: str, name: str) -> str:
    if not _NAME.match(name):
        raise ValidationError(
            field,
            f"{name!r} is not a valid name: 1-63 letters, digits or hyphens, "
            "starting and ending with a letter or digit",
        )
    return name


def unique_job_name(base: str, moment: datetime | None = None) -> str:
    """``base`` followed by a millisecond timestamp, cut so the whole stays within 63 characters."""
    cleaned = re.sub(r"[^a-zA-Z0-9-]+", "-", base).strip("-") or "job"
    suffix = timestamp_slug(moment)
    head = cleaned[: 63 - len(suffix) - 1].rstrip("-")
    return check_name("TrainingJobName", f"{head}-{suffix}")
