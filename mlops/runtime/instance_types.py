"""SageMaker's ``ml.*`` instance types and the local resources a job asking for one gets.

SageMaker gives a training job the whole instance; here the job gets the instance type's vCPUs and memory,
but never more than this machine has (``os.sched_getaffinity`` / ``os.cpu_count`` and ``MemTotal`` of
``/proc/meminfo``), as a ``ResourceConfig``'s ``Cpus`` and ``MemoryMiB`` limits. GPUs are not provided.
The sizes are AWS's published ones (the EC2 instance type pages, which the ``ml.`` types share). An unknown
type is refused naming ``InstanceType`` and the nearest known ones.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlops.core.errors import ValidationError
from mlops.core.training import ResourceConfig

FIELD = "InstanceType"


@dataclass(frozen=True)
class InstanceType:
    Name: str
    VCpus: int
    MemoryGiB: float
    Gpus: int = 0

    @property
    def memory_mib(self) -> int:
        return int(self.MemoryGiB * 1024)


def _family(family: str, sizes: Mapping[str, tuple[int, float] | tuple[int, float, int]]) -> list[InstanceType]:
    return [InstanceType(f"ml.{family}.{size}", *spec) for size, spec in sizes.items()]


_SIZES = {"large": (2, 8.0), "xlarge": (4, 16.0), "2xlarge": (8, 32.0), "4xlarge": (16, 64.0)}
_TABLE = [
    *_family("t3", {"medium": (2, 4.0), **_SIZES}),
    *_family(
        "m4", {k: v for k, v in _SIZES.items() if k != "large"} | {"10xlarge": (40, 160.0), "16xlarge": (64, 256.0)}
    ),
    *_family("m5", _SIZES | {"12xlarge": (48, 192.0), "24xlarge": (96, 384.0)}),
    *_family("c4", {"xlarge": (4, 7.5), "2xlarge": (8, 15.0), "4xlarge": (16, 30.0), "8xlarge": (36, 60.0)}),
    *_family(
        "c5",
        {
            "large": (2, 4.0),
            "xlarge": (4, 8.0),
            "2xlarge": (8, 16.0),
            "4xlarge": (16, 32.0),
            "9xlarge": (36, 72.0),
            "18xlarge": (72, 144.0),
        },
    ),
    *_family(
        "r5",
        {
            "large": (2, 16.0),
            "xlarge": (4, 32.0),
            "2xlarge": (8, 64.0),
            "4xlarge": (16, 128.0),
            "12xlarge": (48, 384.0),
            "24xlarge": (96, 768.0),
        },
    ),
    *_family("p2", {"xlarge": (4, 61.0, 1), "8xlarge": (32, 488.0, 8), "16xlarge": (64, 732.0, 16)}),
    *_family("p3", {"2xlarge": (8, 61.0, 1), "8xlarge": (32, 244.0, 4), "16xlarge": (64, 488.0, 8)}),
    *_family(
        "g4dn",
        {
            "xlarge": (4, 16.0, 1),
            "2xlarge": (8, 32.0, 1),
            "4xlarge": (16, 64.0, 1),
            "8xlarge": (32, 128.0, 1),
            "12xlarge": (48, 192.0, 4),
            "16xlarge": (64, 256.0, 1),
        },
    ),
]
INSTANCE_TYPES: dict[str, InstanceType] = {t.Name: t for t in _TABLE}


@dataclass(frozen=True)
class Machine:
    """What this machine can give a job."""

    Cpus: int
    MemoryMiB: int


def _memory_mib(meminfo: Path) -> int:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)


def this_machine(meminfo: Path = Path("/proc/meminfo")) -> Machine:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return Machine(max(1, min(cpus, os.cpu_count() or cpus)), max(1, _memory_mib(meminfo)))


def instance_type(name: str) -> InstanceType:
    """The known type ``name``, or a ValidationError naming ``InstanceType`` and the nearest known ones."""
    known = INSTANCE_TYPES.get(name) if isinstance(name, str) else None
    if known is not None:
        return known
    shown = repr(name)[:80]
    text = str(name)[:64].strip().lower()
    exact = [t for t in (text, f"ml.{text}") if t in INSTANCE_TYPES]  # ML.M5.LARGE, m5.large
    nearest = exact or difflib.get_close_matches(text, list(INSTANCE_TYPES), n=3, cutoff=0.6)
    hint = f"; nearest known: {', '.join(nearest)}" if nearest else ""
    families = sorted({t.split(".")[1] for t in INSTANCE_TYPES})
    raise ValidationError(
        FIELD, f"{shown} is not a known instance type{hint} (known families: ml.{', ml.'.join(families)})"
    )


def local_limits(name: str, machine: Machine | None = None) -> tuple[int, int]:
    """(Cpus, MemoryMiB) a job of instance type ``name`` gets here."""
    t = instance_type(name)
    m = machine or this_machine()
    return min(t.VCpus, m.Cpus), min(t.memory_mib, m.MemoryMiB)


def resource_config(
    name: str, instance_count: int = 1, volume_size_in_gb: int = 1, machine: Machine | None = None
) -> ResourceConfig:
    """A ResourceConfig for instance type ``name``, with the local limits it gets."""
    cpus, memory = local_limits(name, machine)
    return ResourceConfig(
        InstanceType=name, InstanceCount=instance_count, VolumeSizeInGB=volume_size_in_gb, Cpus=cpus, MemoryMiB=memory
    )


def _gib(value: float) -> str:
    return f"{round(value, 1):g} GiB"


def describe(name: str, machine: Machine | None = None) -> str:
    """``ml.m5.xlarge (4 vCPU, 16 GiB) runs locally with 2 CPUs and 16 GiB``."""
    t = instance_type(name)
    cpus, memory = local_limits(name, machine)
    gpus = f", {t.Gpus} GPU{'s' if t.Gpus > 1 else ''}" if t.Gpus else ""
    given = (
        f"{cpus} CPU{'s' if cpus != 1 else ''}, {_gib(memory / 1024)} and no GPU"
        if t.Gpus
        else (f"{cpus} CPU{'s' if cpus != 1 else ''} and {_gib(memory / 1024)}")
    )
    return f"{t.Name} ({t.VCpus} vCPU, {_gib(t.MemoryGiB)}{gpus}) runs locally with {given}"


PREPARING = "Preparing the instances for training"


def preparing_message(resources: ResourceConfig, runtime: str) -> str:
    """The Starting transition's StatusMessage, saying where an ``ml.*`` type runs here and with what:
    ``Preparing the instances for training: ml.m5.large (2 vCPU, 8 GiB) runs on the docker runtime of
    this machine with 2 CPUs and 8 GiB as limits``."""
    if resources.InstanceType not in INSTANCE_TYPES:
        return PREPARING
    t = INSTANCE_TYPES[resources.InstanceType]
    cpus = resources.Cpus if resources.Cpus is not None else t.VCpus
    memory = resources.MemoryMiB if resources.MemoryMiB is not None else t.memory_mib
    gpus = f", {t.Gpus} GPU{'s' if t.Gpus > 1 else ''}" if t.Gpus else ""
    no_gpu = ", no GPU" if t.Gpus else ""
    return (
        f"{PREPARING}: {t.Name} ({t.VCpus} vCPU, {_gib(t.MemoryGiB)}{gpus}) runs on the {runtime} runtime of "
        f"this machine with {cpus:g} CPU{'s' if cpus != 1 else ''} and {_gib(memory / 1024)}{no_gpu} as limits"
    )
