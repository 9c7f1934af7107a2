"""Promotion policies: per-environment rules a model version must meet before approval is asked.

A policy names, per environment, minimum and maximum metric values, the largest allowed regression
against the model currently in that environment, and checks that must have passed. Evaluation is pure
and explains every rule it applied, passed or not, so the approver and the rejection both see why.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from mlops.core.errors import NotFoundError, ValidationError

# Metrics where larger is worse; regression is measured in the metric's own bad direction.
LOWER_IS_BETTER = frozenset({"logloss", "rmse", "mae", "error", "mse"})


class EnvironmentPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    minimum: dict[str, float] = Field(default_factory=dict)
    maximum: dict[str, float] = Field(default_factory=dict)
    maximum_regression: dict[str, float] = Field(default_factory=dict)
    required_checks: tuple[str, ...] = ()


class PromotionPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    environments: dict[str, EnvironmentPolicy]

    def for_environment(self, environment: str) -> EnvironmentPolicy:
        if environment not in self.environments:
            known = ", ".join(sorted(self.environments))
            raise NotFoundError("environment", environment, f"The policy defines: {known}")
        return self.environments[environment]


class RuleResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    passed: bool
    detail: str


class PolicyDecision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    environment: str
    passed: bool
    results: tuple[RuleResult, ...]

    @property
    def reasons(self) -> list[str]:
        """The failed rules, as sentences."""
        return [r.detail for r in self.results if not r.passed]

    def as_markdown(self) -> str:
        lines = ["| rule | result | detail |", "|---|---|---|"]
        lines += [f"| {r.rule} | {'pass' if r.passed else '**FAIL**'} | {r.detail} |" for r in self.results]
        return "\n".join(lines)


def load_policy(path: Path) -> PromotionPolicy:
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise NotFoundError("policy file", str(path)) from None
    except yaml.YAMLError as e:
        raise ValidationError(str(path), f"not valid YAML: {e}") from None
    try:
        return PromotionPolicy.model_validate(raw)
    except PydanticValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValidationError(f"{path}: {where}", first["msg"]) from None


def evaluate_policy(
    policy: PromotionPolicy,
    environment: str,
    candidate: dict[str, float],
    current: dict[str, float] | None,
    checks_passed: set[str],
) -> PolicyDecision:
    rules = policy.for_environment(environment)
    results: list[RuleResult] = []

    def metric(name: str) -> float | None:
        return candidate.get(name)

    for name, bound in sorted(rules.minimum.items()):
        value = metric(name)
        ok = value is not None and value >= bound
        shown = "missing" if value is None else f"{value:.4f}"
        results.append(RuleResult(rule=f"minimum {name}", passed=ok, detail=f"{name} {shown} must be >= {bound}"))
    for name, bound in sorted(rules.maximum.items()):
        value = metric(name)
        ok = value is not None and value <= bound
        shown = "missing" if value is None else f"{value:.4f}"
        results.append(RuleResult(rule=f"maximum {name}", passed=ok, detail=f"{name} {shown} must be <= {bound}"))
    for name, allowed in sorted(rules.maximum_regression.items()):
        value = metric(name)
        baseline = (current or {}).get(name)
        if baseline is None:
            results.append(
                RuleResult(
                    rule=f"regression {name}",
                    passed=True,
                    detail=f"no current {environment} model with {name}: nothing to regress from",
                )
            )
            continue
        if value is None:
            results.append(RuleResult(rule=f"regression {name}", passed=False, detail=f"{name} missing"))
            continue
        regression = value - baseline if name in LOWER_IS_BETTER else baseline - value
        ok = regression <= allowed
        results.append(
            RuleResult(
                rule=f"regression {name}",
                passed=ok,
                detail=f"{name} {value:.4f} vs current {baseline:.4f}: regression {max(regression, 0):.4f} "
                f"(allowed {allowed})",
            )
        )
    for check in rules.required_checks:
        ok = check in checks_passed
        results.append(
            RuleResult(rule=f"check {check}", passed=ok, detail=f"check {check} {'passed' if ok else 'did not pass'}")
        )
    return PolicyDecision(environment=environment, passed=all(r.passed for r in results), results=tuple(results))
