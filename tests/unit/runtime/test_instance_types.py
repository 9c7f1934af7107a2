"""ml.* instance types -> the CPUs and memory a local job gets: the type's, never more than the machine's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlops.core.errors import ValidationError
from mlops.core.training import ResourceConfig
from mlops.runtime.instance_types import (
    INSTANCE_TYPES,
    Machine,
    describe,
    instance_type,
    local_limits,
    preparing_message,
    resource_config,
    this_machine,
)

BIG = Machine(Cpus=256, MemoryMiB=4 << 20)


@pytest.mark.parametrize(
    ("name", "vcpus", "gib"),
    [
        ("ml.t3.medium", 2, 4),
        ("ml.m5.large", 2, 8),
        ("ml.m5.xlarge", 4, 16),
        ("ml.m5.24xlarge", 96, 384),
        ("ml.m4.16xlarge", 64, 256),
        ("ml.c5.18xlarge", 72, 144),
        ("ml.c4.xlarge", 4, 7.5),
        ("ml.p3.2xlarge", 8, 61),
    ],
)
def test_published_sizes(name: str, vcpus: int, gib: float) -> None:
    t = instance_type(name)
    assert (t.VCpus, t.MemoryGiB) == (vcpus, gib)
    assert local_limits(name, BIG) == (vcpus, int(gib * 1024))


def test_the_families_asked_for_are_there() -> None:
    for size in ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"):
        assert f"ml.m5.{size}" in INSTANCE_TYPES
    assert {t for t in INSTANCE_TYPES if t.startswith("ml.c5.")} >= {"ml.c5.xlarge", "ml.c5.9xlarge"}
    assert {t for t in INSTANCE_TYPES if t.startswith("ml.m4.")}


def test_never_more_than_the_machine() -> None:
    small = Machine(Cpus=2, MemoryMiB=3000)
    for name in INSTANCE_TYPES:
        cpus, memory = local_limits(name, small)
        assert cpus <= min(2, instance_type(name).VCpus) and memory <= 3000
    here = this_machine()
    assert 1 <= here.Cpus <= (os.cpu_count() or 1)
    config = resource_config("ml.m5.24xlarge", instance_count=2, volume_size_in_gb=30)
    assert config.InstanceType == "ml.m5.24xlarge" and config.InstanceCount == 2 and config.VolumeSizeInGB == 30
    assert config.Cpus == min(96, here.Cpus) and config.MemoryMiB == min(384 * 1024, here.MemoryMiB)


def test_memory_comes_from_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:        8388608 kB\nMemFree:  1 kB\n")
    assert this_machine(meminfo).MemoryMiB == 8192
    meminfo.write_text("garbage\n")
    assert this_machine(meminfo).MemoryMiB > 0  # falls back to the page count


def test_describe() -> None:
    assert (
        describe("ml.m5.xlarge", Machine(2, 64 * 1024))
        == "ml.m5.xlarge (4 vCPU, 16 GiB) runs locally with 2 CPUs and 16 GiB"
    )
    assert describe("ml.c4.xlarge", BIG) == "ml.c4.xlarge (4 vCPU, 7.5 GiB) runs locally with 4 CPUs and 7.5 GiB"
    assert (
        describe("ml.p3.2xlarge", Machine(1, 4000))
        == "ml.p3.2xlarge (8 vCPU, 61 GiB, 1 GPU) runs locally with 1 CPU, 3.9 GiB and no GPU"
    )


@pytest.mark.parametrize(
    ("name", "nearest"),
    [("ml.m5.xlarg", "ml.m5.xlarge"), ("ml.m5.8xlarge", "ml.m5."), ("m5.large", "ml.m5.large"), ("ml.zz9.large", None)],
)
def test_unknown_types_name_the_field_and_the_nearest(name: str, nearest: str | None) -> None:
    with pytest.raises(ValidationError) as e:
        instance_type(name)
    assert e.value.field == "InstanceType" and repr(name) in e.value.message
    if nearest:
        assert "nearest known: " + nearest in e.value.message
    assert "ml.m5" in e.value.message  # the known families


@pytest.mark.parametrize("name", ["", "local", "ml." + "x" * 10_000, "ml.m5.large\n", "ML.M5.LARGE"])
def test_hostile_or_other_names_are_refused_briefly(name: str) -> None:
    with pytest.raises(ValidationError) as e:
        instance_type(name)
    assert e.value.field == "InstanceType" and len(str(e.value)) < 400


def test_the_starting_message_says_where_an_instance_type_runs_and_with_what() -> None:
    small = Machine(Cpus=2, MemoryMiB=4096)
    text = preparing_message(resource_config("ml.m5.xlarge", machine=small), "docker")
    assert text == (
        "Preparing the instances for training: ml.m5.xlarge (4 vCPU, 16 GiB) runs on the docker runtime of "
        "this machine with 2 CPUs and 4 GiB as limits"
    )
    gpu = preparing_message(resource_config("ml.p3.2xlarge", machine=small), "local")
    assert gpu.endswith("with 2 CPUs and 4 GiB, no GPU as limits") and "1 GPU" in gpu
    assert preparing_message(ResourceConfig(), "local") == "Preparing the instances for training"
