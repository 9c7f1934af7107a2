"""Whether a run asks for retraining: a violation of a monitor whose schedule entry says ``Retrain: true``,
and no retraining requested for the endpoint within the cooldown (so one incident does not start a
retraining storm). A positive decision is a request, recorded in the endpoint's state file (which also
remembers the violation behind it); nothing is started here: the monitoring DAG's task turns the request
into the Asset event that starts the training pipeline, while ``mlops monitor run`` only records it."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import ValidationError as PydanticValidationError

from mlops.core.clock import utcnow
from mlops.core.files import path_under, write_atomic
from mlops.core.ids import check_name
from mlops.core.monitoring import MonitoringRun, MonitoringSchedule, RetrainDecision, Violation

log = logging.getLogger(__name__)


def candidates(run: MonitoringRun, schedule: MonitoringSchedule) -> tuple[Violation, ...]:
    """Violations of the monitors set to retrain, in the schedule's order of monitors."""
    wanted = [m.MonitoringType for m in schedule.Monitors if m.Retrain]
    return tuple(
        v for kind in wanted for result in run.Monitors if result.MonitoringType is kind for v in result.Violations
    )


def decide(
    found: tuple[Violation, ...], last_trigger: datetime | None, cooldown: timedelta, now: datetime
) -> RetrainDecision:
    """Pure: retrain on the first candidate unless the last trigger is within the cooldown."""
    if not found:
        return RetrainDecision(
            Retrain=False, Reason="no violation of a monitor set to retrain", LastTriggerTime=last_trigger
        )
    if last_trigger is not None and now < last_trigger + cooldown:
        until = last_trigger + cooldown
        return RetrainDecision(
            Retrain=False,
            Reason=f"{len(found)} violation(s) ask for retraining, but retraining was requested at "
            f"{last_trigger.isoformat()} and the cooldown lasts until {until.isoformat()}",
            Candidates=found,
            LastTriggerTime=last_trigger,
            CooldownUntil=until,
        )
    first = found[0]
    return RetrainDecision(
        Retrain=True,
        Reason=f"retraining requested by {first.key}: {first.description}",
        TriggeringViolation=first,
        Candidates=found,
        LastTriggerTime=now,
        CooldownUntil=now + cooldown,
    )


class RetrainState:
    """One JSON file per endpoint: the last positive decision."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, endpoint: str) -> Path:
        name = check_name("EndpointName", endpoint)
        return path_under(self.folder, f"{name}.json", field="EndpointName")

    def last(self, endpoint: str) -> RetrainDecision | None:
        path = self.path(endpoint)
        if not path.is_file():
            return None
        try:
            return RetrainDecision.model_validate_json(path.read_bytes())
        except PydanticValidationError:
            log.error("retraining state %s is unreadable; treating it as no earlier trigger", path)
            return None

    def record(self, endpoint: str, decision: RetrainDecision) -> None:
        path = self.path(endpoint)
        write_atomic(path, json.dumps(decision.model_dump(mode="json", exclude_none=True), indent=2))


def decide_for_run(
    run: MonitoringRun, schedule: MonitoringSchedule, state: RetrainState, now: datetime | None = None
) -> RetrainDecision:
    """The decision for ``run``; a positive one is recorded and starts the cooldown."""
    last = state.last(run.EndpointName)
    decision = decide(
        candidates(run, schedule),
        last.LastTriggerTime if last and last.Retrain else None,
        timedelta(seconds=schedule.RetrainCooldownSeconds),
        now or utcnow(),
    )
    if decision.Retrain:
        decision = decision.model_copy(update={"RequestUri": str(state.path(run.EndpointName))})
        state.record(run.EndpointName, decision)
    return decision
