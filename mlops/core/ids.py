"""Names of jobs and other records, following SageMaker's naming rules: one validator per rule.

Every name a user or a remote system gives becomes a folder or a file name somewhere (a job's folder, a
model's record, an algorithm's folder), so each rule matches the whole string (``fullmatch``: a trailing
newline is refused too) and none lets through ``/``, ``..`` or an empty name. Each rule is a function
(``check_name(field, value)``, raising ``ValidationError`` naming the field) and a pydantic type
(``NameStr`` …) for the records' fields, so a bad name is refused where a record is built or read,
with pydantic's location of the field (``ProductionVariants.0.ModelName``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator

from mlops.core.clock import timestamp_slug
from mlops.core.errors import ValidationError

# SageMaker's resource names (jobs, models, endpoint configs, endpoints, variants, schedules …):
# ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}
_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
NAME_RULE = "1-63 letters, digits or hyphens, starting and ending with a letter or digit"

# SageMaker's channel names ([A-Za-z0-9.\-_]+, at most 64), starting with a letter or digit so a channel
# is never "." or ".." (it names a folder under /opt/ml/input/data).
_CHANNEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
CHANNEL_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"

# Tuning jobs: a resource name short enough that its training jobs' names (NAME-NNN-…) stay within 63.
MAX_TUNING_JOB_NAME = 48

# Ids the platform derives (split and validation ids, monitoring run names): one path segment.
_RECORD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
RECORD_ID_RULE = "1-128 letters, digits, '.', '_' or '-', starting with a letter or digit"


def _check(pattern: re.Pattern[str], rule: str, what: str, field: str, value: object) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValidationError(field, f"{value!r} is not a valid {what}: {rule}")
    return value


def check_name(field: str, name: str) -> str:
    """SageMaker's rule for resource names; returns ``name``."""
    return _check(_NAME, NAME_RULE, "name", field, name)


def check_channel_name(field: str, name: str) -> str:
    return _check(_CHANNEL, CHANNEL_RULE, "channel name", field, name)


def check_tuning_job_name(field: str, name: str) -> str:
    check_name(field, name)
    if len(name) > MAX_TUNING_JOB_NAME:
        raise ValidationError(field, f"{name!r} is longer than a tuning job name may be ({MAX_TUNING_JOB_NAME})")
    return name


def check_record_id(field: str, value: str) -> str:
    return _check(_RECORD_ID, RECORD_ID_RULE, "id", field, value)


def _field_rule(check: Callable[[str, str], str]) -> AfterValidator:
    """The rule as a pydantic validator: a ValueError, so pydantic reports where the field is."""

    def validate(value: str) -> str:
        try:
            return check("", value)
        except ValidationError as e:
            raise ValueError(e.message) from None

    return AfterValidator(validate)


NameStr = Annotated[str, _field_rule(check_name)]
ChannelNameStr = Annotated[str, _field_rule(check_channel_name)]
TuningJobNameStr = Annotated[str, _field_rule(check_tuning_job_name)]
RecordIdStr = Annotated[str, _field_rule(check_record_id)]


def unique_job_name(base: str, moment: datetime | None = None) -> str:
    """``base`` followed by a millisecond timestamp, cut so the whole stays within 63 characters."""
    cleaned = re.sub(r"[^a-zA-Z0-9-]+", "-", base).strip("-") or "job"
    suffix = timestamp_slug(moment)
    head = cleaned[: 63 - len(suffix) - 1].rstrip("-")
    return check_name("TrainingJobName", f"{head}-{suffix}")
