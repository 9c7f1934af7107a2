"""A third training runtime, defined and registered here, outside mlops/, through the table of runtimes
(mlops/runtime/table.py): the proof that adding a runtime is one module and one row.

"scratch-process" runs the algorithm folder's ``train`` as a local process, like "local", but through an
executor of its own: ``train`` starts in a fresh scratch folder beside the job's /opt/ml (not in the
algorithm folder), with the interpreter unbuffered (``-u``), and the first line of the job's log says so
(``SCRATCH_MARKER``). The job's supervisor, a separate process, finds the executor through the import
path the launch record carries, so this module must import without pytest.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from mlops.contract.layout import Layout
from mlops.core.files import PRIVATE_FOLDER_MODE
from mlops.core.training import TrainingJobRequest
from mlops.runtime.executor import LocalTrainingProcess, TrainingProcess, training_environment
from mlops.runtime.launch import TrainingLaunch
from mlops.runtime.local_process import LocalProcessRuntime
from mlops.runtime.table import RuntimeEntry, register_runtime

NAME = "scratch-process"
SCRATCH_MARKER = "[scratch-process] train runs in"


class ScratchProcessRuntime(LocalProcessRuntime):
    """The local process runtime's caller side (folder by algorithm name, its MetricDefinitions) under
    its own name, so its jobs' supervisors use this module's executor."""

    name = NAME


class ScratchProcess:
    """The supervisor's handle: a local process whose log opens with where it runs."""

    def __init__(self, process: LocalTrainingProcess, scratch: Path) -> None:
        self.process = process
        self.scratch = scratch

    def lines(self) -> Iterator[str]:
        yield f"{SCRATCH_MARKER} {self.scratch}\n"
        yield from self.process.lines()

    def poll(self) -> int | None:
        return self.process.poll()

    def terminate(self) -> None:
        self.process.terminate()

    def kill(self) -> None:
        self.process.kill()

    def cleanup(self) -> None:
        self.process.cleanup()


def start_in_scratch(launch: TrainingLaunch, layout: Layout, request: TrainingJobRequest, log: Path) -> TrainingProcess:
    folder = launch.folder()
    scratch = layout.root.parent.parent / "scratch"  # the job's folder, beside opt/ml
    scratch.mkdir(PRIVATE_FOLDER_MODE, exist_ok=True)
    process = LocalTrainingProcess(
        [launch.python, "-u", str(folder / "train")],
        cwd=str(scratch),
        env=training_environment(request, layout),
        memory_mib=request.ResourceConfig.MemoryMiB,
    )
    return ScratchProcess(process, scratch)


ENTRY = register_runtime(
    RuntimeEntry(
        name=NAME,
        description="a process in a scratch folder (tests)",
        training=f"{__name__}:ScratchProcessRuntime",
        executor=f"{__name__}:start_in_scratch",
    )
)
