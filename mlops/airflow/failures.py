"""Which errors a retry cannot fix. Bad input, a failed gate, a job that ended badly: the task fails at
once (AirflowFailException skips the remaining retries) with the platform's message, which names the
field, file or rule. Anything else (a router restarting, a full disk) is left to Airflow's retries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from airflow.sdk.exceptions import AirflowFailException

from mlops.airflow.deploy_steps import SmokeTestFailed
from mlops.airflow.steps import JobEnded, PolicyRejected
from mlops.core.datasets import DataQualityError
from mlops.core.errors import ConflictError, NotFoundError, ValidationError

FINAL = (ValidationError, NotFoundError, ConflictError, DataQualityError, PolicyRejected, JobEnded, SmokeTestFailed)


@contextmanager
def final_errors() -> Iterator[None]:
    try:
        yield
    except FINAL as e:
        raise AirflowFailException(str(e)) from e
