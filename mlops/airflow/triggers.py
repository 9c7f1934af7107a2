"""Triggers: the asynchronous waits of deferred tasks, run by Airflow's triggerer.

A deferred task holds no worker slot while its job runs: the operator starts the job (a detached
process that records itself) and defers to one of these triggers, which polls the job's record
without blocking the triggerer's event loop (file and HTTP reads go to a thread) and fires one
TriggerEvent when the job has ended. The operator then resumes on a worker to read the result.
Like the Amazon provider's SageMaker triggers, but reading our records instead of AWS's API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from mlops.core.errors import MlopsError


def _event(payload: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]


class TuningJobTrigger(BaseTrigger):
    """Fires once the tuning job's record (HOME/tuning-jobs/NAME/job.json) says it has ended."""

    def __init__(self, home: str, name: str, poll_seconds: float = 2.0, first_check_delay: float = 0.0) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.home = home
        self.name = name
        self.poll_seconds = poll_seconds
        self.first_check_delay = first_check_delay

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "mlops.airflow.triggers.TuningJobTrigger",
            {
                "home": self.home,
                "name": self.name,
                "poll_seconds": self.poll_seconds,
                "first_check_delay": self.first_check_delay,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from mlops.core.home import Home
        from mlops.services.tuning import describe_tuning_job
        from mlops.tuning.job_store import TuningJobStore

        await asyncio.sleep(self.first_check_delay)
        store = TuningJobStore(Home(Path(self.home)).tuning_jobs)
        seen = None
        while True:
            try:
                job = await asyncio.to_thread(describe_tuning_job, store, self.name)
            except MlopsError as e:
                yield _event({"name": self.name, "status": "Error", "reason": str(e)})
                return
            counters = job.TrainingJobStatusCounters
            progress = (job.HyperParameterTuningJobStatus.value, counters.Completed, counters.InProgress)
            if progress != seen:
                self.log.info(
                    "tuning job %s %s: %d completed, %d running, %d stopped, %d failed",
                    self.name,
                    progress[0],
                    counters.Completed,
                    counters.InProgress,
                    counters.Stopped,
                    counters.NonRetryableError,
                )
                seen = progress
            if job.HyperParameterTuningJobStatus.terminal:
                yield _event(
                    {"name": self.name, "status": job.HyperParameterTuningJobStatus.value, "reason": job.FailureReason}
                )
                return
            await asyncio.sleep(self.poll_seconds)


class TrainingJobTrigger(BaseTrigger):
    """Fires once DescribeTrainingJob says the job has ended (a dead supervisor counts as Failed)."""

    def __init__(
        self, home: str, name: str, runtime: str = "local", poll_seconds: float = 2.0, first_check_delay: float = 0.0
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.home = home
        self.name = name
        self.runtime = runtime
        self.poll_seconds = poll_seconds
        self.first_check_delay = first_check_delay

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "mlops.airflow.triggers.TrainingJobTrigger",
            {
                "home": self.home,
                "name": self.name,
                "runtime": self.runtime,
                "poll_seconds": self.poll_seconds,
                "first_check_delay": self.first_check_delay,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from mlops.services.runtimes import training_runtime
        from mlops.settings import Settings

        await asyncio.sleep(self.first_check_delay)
        runtime = training_runtime(Settings(home=Path(self.home)), self.runtime)
        seen = None
        while True:
            try:
                job = await asyncio.to_thread(runtime.describe_training_job, self.name)
            except MlopsError as e:
                yield _event({"name": self.name, "status": "Error", "reason": str(e)})
                return
            if job.SecondaryStatus != seen:
                self.log.info("training job %s %s %s", self.name, job.TrainingJobStatus.value, job.SecondaryStatus)
                seen = job.SecondaryStatus
            if job.TrainingJobStatus.terminal:
                yield _event({"name": self.name, "status": job.TrainingJobStatus.value, "reason": job.FailureReason})
                return
            await asyncio.sleep(self.poll_seconds)


class EndpointDeploymentTrigger(BaseTrigger):
    """Fires once the endpoint router reports that the deployment of ``target_config`` has ended:
    Completed, RolledBack (an alarm fired or the deadline passed) or Failed. ``started`` (what the
    operator started) travels in the event, so the resumed task needs nothing else."""

    def __init__(
        self,
        router_url: str,
        endpoint: str,
        target_config: str,
        poll_seconds: float = 1.0,
        unreachable_limit: int = 30,
        started: dict[str, Any] | None = None,
        first_check_delay: float = 0.0,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.started = started or {}
        self.first_check_delay = first_check_delay
        self.router_url = router_url
        self.endpoint = endpoint
        self.target_config = target_config
        self.poll_seconds = poll_seconds
        self.unreachable_limit = unreachable_limit

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "mlops.airflow.triggers.EndpointDeploymentTrigger",
            {
                "router_url": self.router_url,
                "endpoint": self.endpoint,
                "target_config": self.target_config,
                "poll_seconds": self.poll_seconds,
                "unreachable_limit": self.unreachable_limit,
                "started": self.started,
                "first_check_delay": self.first_check_delay,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from mlops.airflow.deploy_steps import deployment_state
        from mlops.hosting.credentials import ControlCredentials
        from mlops.services.control_client import ControlProcessUnavailable, HostingClient
        from mlops.settings import load_settings

        try:  # the triggerer runs with the DAGs' MLOPS_HOME, whose credentials the router checks
            credentials = ControlCredentials.for_home(load_settings().home)
        except MlopsError as e:
            yield _event({"endpoint": self.endpoint, "state": "Failed", "reason": str(e), "started": self.started})
            return
        client = HostingClient(self.router_url, credentials, timeout=10.0)
        await asyncio.sleep(self.first_check_delay)
        seen = None
        misses = 0
        while True:
            try:
                endpoint = await asyncio.to_thread(client.describe, self.endpoint)
                misses = 0
            except ControlProcessUnavailable as e:
                misses += 1  # the router restarting; it brings its endpoints back
                if misses >= self.unreachable_limit:
                    yield _event(
                        {"endpoint": self.endpoint, "state": "Failed", "reason": str(e), "started": self.started}
                    )
                    return
                await asyncio.sleep(self.poll_seconds)
                continue
            except MlopsError as e:
                yield _event({"endpoint": self.endpoint, "state": "Failed", "reason": str(e), "started": self.started})
                return
            step = (endpoint.EndpointStatus.value, endpoint.CurrentDeploymentStep)
            if step != seen:
                self.log.info("endpoint %s %s %s", self.endpoint, step[0], step[1] or "")
                seen = step
            ended = deployment_state(endpoint, self.target_config)
            if ended is not None:
                yield _event(
                    {"endpoint": self.endpoint, "state": ended[0], "reason": ended[1], "started": self.started}
                )
                return
            await asyncio.sleep(self.poll_seconds)
