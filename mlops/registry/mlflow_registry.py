"""The ModelRegistry on MLflow's model registry, through ``mlflow.MlflowClient``.

A model package group is a registered model; a model package version is a model version. SageMaker's
fields that MLflow has no column for live in model-version tags named ``mlops.<Field>``:
ModelApprovalStatus, ApprovalDescription, ApprovedBy, ApprovalTime, InferenceSpecification and
ModelMetrics (JSON) and the lineage (``mlops.Lineage.<Field>``). Aliases are MLflow's own.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from mlops.core.clock import utcnow
from mlops.core.datasets import FeatureEncoding
from mlops.core.errors import NotFoundError, ValidationError
from mlops.core.registry import (
    CreateModelPackageInput,
    InferenceSpecification,
    ModelApprovalStatus,
    ModelLineage,
    ModelMetrics,
    ModelPackage,
    ModelPackageGroup,
    check_alias,
    check_approval_transition,
    check_group_name,
    model_package_arn,
    model_package_group_arn,
)
from mlops.registry.mlflow_client import call, client, from_millis, translated

TAG = "mlops."
STATUS = TAG + "ModelApprovalStatus"
APPROVAL_DESCRIPTION = TAG + "ApprovalDescription"
APPROVED_BY = TAG + "ApprovedBy"
APPROVAL_TIME = TAG + "ApprovalTime"
INFERENCE = TAG + "InferenceSpecification"
METRICS = TAG + "ModelMetrics"
LINEAGE = TAG + "Lineage."
ENCODING = TAG + "FeatureEncoding"
GROUP_TAG = TAG + "ModelPackageGroup"


class MlflowModelRegistry:
    def __init__(self, uri: str) -> None:
        self.uri = uri

    @property
    def _client(self):  # type: ignore[no-untyped-def]
        return client(self.uri)

    # ------------------------------------------------------------------------------------------ groups

    def create_model_package_group(self, name: str, description: str = "") -> ModelPackageGroup:
        check_group_name(name)
        call(
            f"model package group {name}",
            self._client.create_registered_model,
            name,
            tags={GROUP_TAG: "true"},
            description=description or None,
        )
        return self.describe_model_package_group(name)

    def describe_model_package_group(self, name: str) -> ModelPackageGroup:
        try:
            model = call("model package group", self._client.get_registered_model, name)
        except NotFoundError:
            raise NotFoundError(
                "model package group", name, "Register a model with `mlops registry register NAME --job JOB`."
            ) from None
        return _group(model)

    def list_model_package_groups(self) -> list[ModelPackageGroup]:
        found = call("model package groups", self._client.search_registered_models, max_results=1000)
        return sorted((_group(m) for m in found), key=lambda g: g.ModelPackageGroupName)

    # ---------------------------------------------------------------------------------------- versions

    def create_model_package(self, request: CreateModelPackageInput, run_id: str | None = None) -> ModelPackage:
        group = request.ModelPackageGroupName
        self.describe_model_package_group(group)
        model_data = request.InferenceSpecification.Containers[0].ModelDataUrl
        source = self._source(model_data, run_id)
        tags = {
            STATUS: request.ModelApprovalStatus.value,
            INFERENCE: request.InferenceSpecification.model_dump_json(),
            **_lineage_tags(request.Lineage),
        }
        if request.ModelMetrics is not None:
            tags[METRICS] = request.ModelMetrics.model_dump_json()
        if request.FeatureEncoding is not None:
            tags[ENCODING] = request.FeatureEncoding.model_dump_json()
        version = call(
            f"model package group {group}",
            self._client.create_model_version,
            group,
            source,
            run_id=run_id,
            tags=tags,
            description=request.ModelPackageDescription or None,
        )
        return self.describe_model_package(group, int(version.version))

    def _source(self, model_data: str, run_id: str | None) -> str:
        """MLflow's ``source``: a remote artifact as it is; a local one copied into the tracking run (an
        MLflow server only accepts local sources inside a run's artifacts)."""
        if "://" in model_data and not model_data.startswith("file://"):
            return model_data
        path = Path(model_data.removeprefix("file://"))
        if not path.is_file():
            raise ValidationError("ModelDataUrl", f"{model_data} does not exist")
        if run_id is None:
            raise ValidationError("run_id", "a local model artifact is registered through its tracking run")
        call(f"run {run_id}", self._client.log_artifact, run_id, str(path), "model")
        return f"runs:/{run_id}/model"

    def describe_model_package(self, group: str, version: int) -> ModelPackage:
        try:
            found = call("model package", self._client.get_model_version, group, str(version))
        except NotFoundError:
            self.describe_model_package_group(group)
            raise NotFoundError(
                "model package", f"{group} version {version}", f"List versions with `mlops registry list {group}`."
            ) from None
        return _package(found, self._aliases(group))

    def list_model_packages(self, group: str, status: ModelApprovalStatus | None = None) -> list[ModelPackage]:
        self.describe_model_package_group(group)
        quoted = group.replace("'", "\\'")
        found = call(
            f"model package group {group}", self._client.search_model_versions, f"name = '{quoted}'", max_results=10000
        )
        aliases = self._aliases(group)
        packages = sorted((_package(v, aliases) for v in found), key=lambda p: p.ModelPackageVersion)
        return [p for p in packages if status is None or p.ModelApprovalStatus is status]

    def update_approval_status(
        self, group: str, version: int, status: ModelApprovalStatus, approved_by: str, description: str = ""
    ) -> ModelPackage:
        package = self.describe_model_package(group, version)
        check_approval_transition(package, status)
        for key, value in (
            (APPROVED_BY, approved_by),
            (APPROVAL_TIME, utcnow().isoformat()),
            (APPROVAL_DESCRIPTION, description),
            (STATUS, status.value),  # last: the status changes only once the rest is recorded
        ):
            call(
                f"model package {group} version {version}",
                self._client.set_model_version_tag,
                group,
                str(version),
                key,
                value,
            )
        return self.describe_model_package(group, version)

    def set_model_metrics(self, group: str, version: int, metrics: ModelMetrics) -> ModelPackage:
        self.describe_model_package(group, version)
        call(
            f"model package {group} version {version}",
            self._client.set_model_version_tag,
            group,
            str(version),
            METRICS,
            metrics.model_dump_json(),
        )
        return self.describe_model_package(group, version)

    # ----------------------------------------------------------------------------------------- aliases

    def set_alias(self, group: str, alias: str, version: int) -> ModelPackage:
        package = self.describe_model_package(group, version)
        check_alias(package, alias)
        call(f"alias {alias}", self._client.set_registered_model_alias, group, alias, str(version))
        return self.describe_model_package(group, version)

    def delete_alias(self, group: str, alias: str) -> None:
        if alias not in self._aliases(group):
            raise NotFoundError("alias", f"{group}@{alias}")
        call(f"alias {alias}", self._client.delete_registered_model_alias, group, alias)

    def describe_by_alias(self, group: str, alias: str) -> ModelPackage:
        aliases = self._aliases(group)
        if alias not in aliases:
            known = ", ".join(f"{a}={v}" for a, v in sorted(aliases.items())) or "none"
            raise NotFoundError("alias", f"{group}@{alias}", f"Aliases: {known}.")
        return self.describe_model_package(group, aliases[alias])

    def _aliases(self, group: str) -> dict[str, int]:
        return self.describe_model_package_group(group).Aliases


def _group(model: Any) -> ModelPackageGroup:
    return ModelPackageGroup(
        ModelPackageGroupName=model.name,
        ModelPackageGroupArn=model_package_group_arn(model.name),
        ModelPackageGroupDescription=model.description or "",
        CreationTime=from_millis(model.creation_timestamp) or utcnow(),
        Aliases={alias: int(v) for alias, v in (model.aliases or {}).items()},
    )


def _lineage_tags(lineage: ModelLineage) -> dict[str, str]:
    return {LINEAGE + k: str(v) for k, v in lineage.model_dump().items() if v is not None}


def _json(tags: dict[str, str], key: str) -> Any:
    text = tags.get(key)
    if not text:
        return None
    with translated(f"tag {key}"):
        return json.loads(text)


def _package(version: Any, aliases: dict[str, int]) -> ModelPackage:
    tags: dict[str, str] = dict(version.tags or {})
    number = int(version.version)
    created = from_millis(version.creation_timestamp) or utcnow()
    approved = tags.get(APPROVAL_TIME)
    approval_time = datetime.fromisoformat(approved) if approved else None
    updated = from_millis(version.last_updated_timestamp) or created
    inference = _json(tags, INFERENCE)
    metrics = _json(tags, METRICS)
    encoding = _json(tags, ENCODING)
    lineage = {k[len(LINEAGE) :]: v for k, v in tags.items() if k.startswith(LINEAGE)}
    if inference is None:  # registered outside mlops: the source is the only model location known
        inference = {"Containers": [{"ModelDataUrl": version.source}]}
    return ModelPackage(
        ModelPackageGroupName=version.name,
        ModelPackageVersion=number,
        ModelPackageArn=model_package_arn(version.name, number),
        ModelPackageDescription=version.description or "",
        ModelApprovalStatus=ModelApprovalStatus(tags.get(STATUS, ModelApprovalStatus.PendingManualApproval.value)),
        ApprovalDescription=tags.get(APPROVAL_DESCRIPTION) or None,
        ApprovedBy=tags.get(APPROVED_BY),
        ApprovalTime=approval_time,
        CreationTime=created,
        LastModifiedTime=max(updated, approval_time or updated),
        InferenceSpecification=InferenceSpecification.model_validate(inference),
        ModelMetrics=None if metrics is None else ModelMetrics.model_validate(metrics),
        Lineage=ModelLineage.model_validate(lineage),
        Aliases=tuple(sorted(a for a, v in aliases.items() if v == number)),
        SourceUri=version.source,
        FeatureEncoding=None if encoding is None else FeatureEncoding.model_validate(encoding),
    )
