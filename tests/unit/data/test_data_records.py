"""Dataset and registry records: version references, split ratios and the approval rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mlops.core.datasets import SplitRatios, parse_version_ref
from mlops.core.errors import ConflictError, ValidationError
from mlops.core.registry import (
    InferenceSpecification,
    ModelApprovalStatus,
    ModelPackage,
    ModelPackageContainerDefinition,
    check_alias,
    check_approval_transition,
    model_package_arn,
)


def test_version_references() -> None:
    assert parse_version_ref(None).latest and parse_version_ref("latest").latest
    assert parse_version_ref("3").Ordinal == 3 and parse_version_ref("v12").Ordinal == 12
    assert parse_version_ref("a1b2c3d4").Prefix == "a1b2c3d4"
    assert parse_version_ref("sha256:ABCDEF01").Prefix == "abcdef01"
    assert parse_version_ref("12345678").Prefix == "12345678"  # 8+ digits: a hash prefix
    for bad, message in (("0", "start at 1"), ("abc", "too short"), ("zz-top", "neither")):
        with pytest.raises(ValidationError, match=message):
            parse_version_ref(bad)


def test_split_ratios_must_add_up() -> None:
    assert SplitRatios(Train=0.8, Validation=0.1, Test=0.1).check().Train == 0.8
    with pytest.raises(ValidationError, match="add up to 1"):
        SplitRatios(Train=0.8, Validation=0.3).check()


def _package(status: ModelApprovalStatus, aliases: tuple[str, ...] = ()) -> ModelPackage:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return ModelPackage(
        ModelPackageGroupName="churn",
        ModelPackageVersion=4,
        ModelPackageArn=model_package_arn("churn", 4),
        ModelApprovalStatus=status,
        CreationTime=now,
        LastModifiedTime=now,
        InferenceSpecification=InferenceSpecification(
            Containers=(ModelPackageContainerDefinition(ModelDataUrl="s3://b/model.tar.gz"),)
        ),
        Aliases=aliases,
    )


def test_approval_rules() -> None:
    pending, approved = ModelApprovalStatus.PendingManualApproval, ModelApprovalStatus.Approved
    rejected = ModelApprovalStatus.Rejected
    check_approval_transition(_package(pending), approved)
    check_approval_transition(_package(pending), rejected)
    check_approval_transition(_package(approved), rejected)  # revoking
    with pytest.raises(ConflictError, match="already Rejected"):
        check_approval_transition(_package(rejected), approved)
    with pytest.raises(ConflictError, match="already Approved"):
        check_approval_transition(_package(approved), approved)
    with pytest.raises(ConflictError, match="deployed as prod"):
        check_approval_transition(_package(approved, ("prod",)), rejected)
    with pytest.raises(ConflictError, match="back to PendingManualApproval"):
        check_approval_transition(_package(approved), pending)


def test_only_approved_versions_carry_aliases() -> None:
    check_alias(_package(ModelApprovalStatus.Approved), "prod")
    with pytest.raises(ConflictError, match="only an Approved version"):
        check_alias(_package(ModelApprovalStatus.PendingManualApproval), "prod")
    assert model_package_arn("Churn", 4) == "arn:aws:sagemaker:local:000000000000:model-package/churn/4"
