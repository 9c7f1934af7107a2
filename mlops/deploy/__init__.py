"""Deployment guardrails: strategies (traffic steps), alarms and the blue/green Rollout."""
