"""The human gate: Airflow's HITL ApprovalOperator, recording the decision in the model registry.

The task writes its subject and Markdown body (the candidate's test metrics beside the model now in
the environment, the policy's verdict, the hyperparameters, links to the reports) when it runs, then
waits deferred until someone answers under Required Actions in the UI or over the REST API
(``PATCH …/hitlDetails``). Approve: the registry version becomes Approved with the responder's name
(``responded_by_user``) and the task returns what the deployment needs. Reject: the version becomes
Rejected and the deployment is skipped. No answer within ``response_timeout``: Rejected, task failed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

from mlops.airflow import steps
from mlops.airflow.records import ApprovalAnswer, ApprovalRequest
from mlops.settings import load_settings


class ModelApprovalOperator(ApprovalOperator):
    """``gate_task_id``: the task whose return value holds ``subject``, ``body``, ``group``, ``version``
    and ``deployment`` (the policy gate)."""

    def __init__(self, *, gate_task_id: str, response_timeout: timedelta = timedelta(days=7), **kwargs: Any) -> None:
        kwargs.setdefault("subject", "Approve the candidate model")
        kwargs.setdefault("body", "The candidate's evaluation appears here when the approval task runs.")
        super().__init__(response_timeout=response_timeout, **kwargs)
        self.gate_task_id = gate_task_id

    def _gate(self, context: Any) -> ApprovalRequest:
        gate = context["ti"].xcom_pull(task_ids=self.gate_task_id)
        if not gate:
            raise ValueError(f"task {self.gate_task_id} returned nothing to approve")
        return ApprovalRequest.model_validate(gate)

    def execute(self, context: Any) -> Any:
        gate = self._gate(context)
        self.subject = gate.subject
        self.body = gate.body
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        gate = self._gate(context)
        settings = load_settings()
        if "error" in event:
            if event.get("error_type") == "timeout":
                steps.record_decision(
                    settings, gate.group, gate.version, False, "airflow", f"no decision: {event.get('error')}"
                )
            return super().execute_complete(context, event)  # raises
        chosen = list(event["chosen_options"])
        self.validate_chosen_options(chosen)
        approved = chosen == [self.APPROVE]
        user = event.get("responded_by_user") or {}
        by = str(user.get("name") or user.get("id") or "unknown")
        # A comment comes with an answer given over the REST API (params_input {"comment": …}); the UI's
        # Required Actions page has no field for it (a task param would be shown, but 3.2.2's page sends
        # an untouched optional field back as its whole definition, which then fails validation).
        comment = str((event.get("params_input") or {}).get("comment") or "")
        recorded = steps.record_decision(settings, gate.group, gate.version, approved, by, comment)
        self.log.info("%s version %s %s by %s", gate.group, gate.version, recorded.status, by)
        answer = super().execute_complete(context, event)  # on Reject: skips the deployment
        return ApprovalAnswer(
            approved=approved,
            approved_by=by,
            comment=comment,
            status=recorded.status,
            group=gate.group,
            version=gate.version,
            deployment=gate.deployment,
            responded_at=str(answer.get("responded_at")),
        ).model_dump(mode="json")
