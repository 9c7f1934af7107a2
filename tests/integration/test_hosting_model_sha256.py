"""The control process serves a model only on the bytes its creator vouched for: a model record with no
sha256 (written by an older version) is refused naming the model, at boot and at CreateEndpoint, and an
archive swapped after the model was created is refused with both hashes. Nothing is left running.

Model servers are the "echo" test algorithm (see test_hosting_support.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops.cli.hosting_flags import parse_variant
from mlops.core.clock import utcnow
from mlops.core.errors import MlopsError, ValidationError
from mlops.core.files import sha256_file
from mlops.core.hosting import (
    ContainerDefinition,
    Endpoint,
    EndpointStatus,
    Model,
    ProductionVariantSummary,
    hosting_arn,
)
from mlops.hosting.reaper import tagged_processes
from mlops.hosting.store import HostingStore
from mlops.services.hosting_wiring import create_endpoint_config, create_model
from mlops.settings import Settings
from tests.integration.test_hosting_support import Hosting, echo_model, wait_until, write_echo_algorithm

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Stack:
    hosting: Hosting
    settings: Settings
    root: Path


def older_version_model(settings: Settings, name: str, archive: Path) -> Model:
    """A model record as an older version wrote it: no sha256 of its model data."""
    now = utcnow()
    model = Model(
        ModelName=name,
        ModelArn=hosting_arn("model", name),
        PrimaryContainer=ContainerDefinition(AlgorithmName="echo", ModelDataUrl=str(archive)),
        CreationTime=now,
    )
    return HostingStore(settings.home).create_model(model)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("hosting-sha256")
    h = Hosting(root / "home", write_echo_algorithm(root / "algorithms"), ("--health-interval", "0.3"))
    settings = Settings(home=h.home, algorithms_dir=root / "algorithms")
    # what an older version left on disk: an InService endpoint on a model without a sha256
    older_version_model(settings, "legacy", echo_model(root / "legacy", "0.5"))
    create_endpoint_config(settings, "cfg-legacy", [parse_variant("name=a,model=legacy")])
    now = utcnow()
    HostingStore(settings.home).save_endpoint(
        Endpoint(
            EndpointName="old",
            EndpointArn=hosting_arn("endpoint", "old"),
            EndpointConfigName="cfg-legacy",
            ProductionVariants=(
                ProductionVariantSummary(VariantName="a", ModelName="legacy", CurrentWeight=1.0, DesiredWeight=1.0,
                                         CurrentInstanceCount=1, DesiredInstanceCount=1),
            ),
            EndpointStatus=EndpointStatus.InService,
            CreationTime=now,
            LastModifiedTime=now,
        )
    )
    h.start()
    yield Stack(h, settings, root)
    h.close()


def _tag(hosting: Hosting) -> str:
    return str(json.loads((hosting.home / "hosting" / "instances.json").read_text())["ControlTag"])


def test_an_endpoint_on_a_model_without_a_sha256_fails_at_boot_naming_the_model(stack: Stack) -> None:
    record = stack.hosting.wait_status("old", "Failed", timeout=60)
    reason = record["FailureReason"]
    assert "model legacy records no sha256" in reason and "not served unchecked" in reason, reason
    assert "--model-sha256" in reason, reason  # says how to fix it
    assert stack.hosting.pids("old") == [] and tagged_processes(_tag(stack.hosting)) == []
    assert stack.hosting.proc is not None and stack.hosting.proc.poll() is None  # the control process lives on


def test_creating_an_endpoint_on_a_model_without_a_sha256_is_refused_at_once(stack: Stack) -> None:
    client = stack.hosting.client()
    before = set(tagged_processes(_tag(stack.hosting)))
    with pytest.raises(ValidationError) as refused:
        client.create_endpoint("new-on-legacy", "cfg-legacy")
    assert "model legacy records no sha256" in str(refused.value), str(refused.value)
    with pytest.raises(MlopsError, match="not found"):
        client.describe("new-on-legacy")  # nothing was recorded
    assert set(tagged_processes(_tag(stack.hosting))) <= before


def test_an_archive_swapped_after_the_model_was_created_is_refused_with_both_hashes(stack: Stack) -> None:
    archive = echo_model(stack.root / "swapped", "0.25")
    vouched = sha256_file(archive)
    model = create_model(stack.settings, "swapped", str(archive), algorithm="echo", model_sha256=vouched)
    assert model.ModelDataSha256 == vouched
    create_endpoint_config(stack.settings, "cfg-swapped", [parse_variant("name=a,model=swapped,instances=2")])
    echo_model(stack.root / "swapped", "0.99")  # same URI, other bytes
    swapped = sha256_file(archive)
    assert swapped != vouched
    client = stack.hosting.client()
    before = set(tagged_processes(_tag(stack.hosting)))
    client.create_endpoint("swapped", "cfg-swapped")
    record = client.wait("swapped", timeout=60)
    assert record.EndpointStatus is EndpointStatus.Failed, record
    assert record.FailureReason is not None
    assert vouched in record.FailureReason and swapped in record.FailureReason, record.FailureReason
    wait_until(lambda: set(tagged_processes(_tag(stack.hosting))) <= before, 10, "no model server left running")
    assert stack.hosting.pids("swapped") == []
    unpacked = [p for p in (stack.hosting.home / "servers").rglob("model.txt") if p.read_text() == "0.99"]
    assert unpacked == [], "the swapped archive was unpacked"
