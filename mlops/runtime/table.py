"""The table of runtimes: name -> implementation. Every caller that resolves a runtime name (services'
choice of implementation, the CLI's ``--runtime`` choices and help, the supervisor's executor) reads it
here. Adding a runtime is one module and one row: a ``RuntimeEntry`` below, or a ``register_runtime``
call from the module that defines it.

Implementations are named by import path (``"package.module:attribute"``), so reading the table imports
nothing: ``mlops --help`` stays cheap, and the caller's side of a runtime (docker.py) and the supervisor's
side (docker_container.py) never import each other through it.

An entry holds:
- ``training``: a factory ``(jobs_dir, catalog, stop_grace_seconds) -> TrainingRuntime``;
- ``executor``: the supervisor's ``Executor`` (executor.py) that starts ``train`` for a supervised
  runtime; it is copied into each job's launch record (launch.py), because the supervisor runs in a
  process of its own (``python -m mlops.runtime.supervisor FOLDER``), where a runtime registered by the
  launcher at run time (a plug-in, a test) is not in the table;
- ``server``: optionally, a factory ``(servers_dir, catalog, workers) -> ModelServerRuntime``.

Trust boundary of the executor's import path. The supervisor imports the module a launch record names.
The record lives in the job's folder, which is its owner's alone (0700, files 0600, see job_store.py),
and is written by the owner's own launcher: whoever can change it already runs code as the owner, so
importing what it names gives nobody a power they lacked. An algorithm in a container cannot reach it
(it sees only the job's /opt/ml), and the record is read once, before the job's ``train`` starts; an
algorithm run as a local process runs as the owner, inside this boundary already (the local runtime
is no sandbox). The path is still checked to be dotted identifiers (never a file path), is looked up on
the supervisor's own ``sys.path`` (installed packages, PYTHONPATH, the working folder it was started
in, as ``python -m`` has it) and must name a callable; anything else ends the job Failed with the reason.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from mlops.core.errors import ValidationError

if TYPE_CHECKING:
    from mlops.algorithms.catalog import AlgorithmCatalog
    from mlops.runtime.interface import ModelServerRuntime, TrainingRuntime

RUNTIME_NAME = r"^[a-z][a-z0-9-]{0,31}$"
# "package.module:attribute": dotted identifiers, so a module is imported by name from sys.path, never
# from a file a record names
IMPORT_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"


class TrainingRuntimeFactory(Protocol):
    def __call__(self, jobs_dir: Path, catalog: AlgorithmCatalog, stop_grace_seconds: float) -> TrainingRuntime: ...


class ServerRuntimeFactory(Protocol):
    def __call__(self, servers_dir: Path, catalog: AlgorithmCatalog, workers: int) -> ModelServerRuntime: ...


@dataclass(frozen=True)
class RuntimeEntry:
    name: str
    description: str  # for --help: where a job runs
    training: str  # import path of a TrainingRuntimeFactory
    executor: str | None = None  # import path of the supervisor's Executor (supervised runtimes)
    server: str | None = None  # import path of a ServerRuntimeFactory, if the runtime serves models

    def __post_init__(self) -> None:
        if not re.fullmatch(RUNTIME_NAME, self.name):
            raise ValidationError("runtime", f"{self.name!r} is not a runtime name (lower case letters, digits, -)")
        for field, path in (("training", self.training), ("executor", self.executor), ("server", self.server)):
            if path is not None and not re.fullmatch(IMPORT_PATH, path):
                raise ValidationError(
                    f"runtime {self.name} {field}", f"{path!r} is not an import path like package.module:name"
                )

    def training_factory(self) -> TrainingRuntimeFactory:
        return cast("TrainingRuntimeFactory", load_object(self.training))

    def server_factory(self) -> ServerRuntimeFactory:
        if self.server is None:
            raise ValidationError(
                "runtime",
                f"runtime {self.name!r} runs no model servers; choose one of {', '.join(server_runtime_names())}",
            )
        return cast("ServerRuntimeFactory", load_object(self.server))

    def check_serves(self) -> RuntimeEntry:
        """This entry, or the error ``server_factory`` would give, without importing anything."""
        if self.server is None:
            self.server_factory()
        return self


DEFAULT_RUNTIME = "local"
_TABLE: dict[str, RuntimeEntry] = {}


def register_runtime(entry: RuntimeEntry, replace: bool = False) -> RuntimeEntry:
    """Add a row; a name already taken is refused unless ``replace`` (the same row again is a no-op)."""
    existing = _TABLE.get(entry.name)
    if existing is not None and existing != entry and not replace:
        raise ValidationError("runtime", f"a runtime named {entry.name!r} is already registered")
    _TABLE[entry.name] = entry
    return entry


register_runtime(
    RuntimeEntry(
        name="local",
        description="a process on this machine",
        training="mlops.runtime.local_process:LocalProcessRuntime",
        executor="mlops.runtime.executor:start_local",
        server="mlops.runtime.local_server:LocalModelServerRuntime",
    )
)
register_runtime(
    RuntimeEntry(
        name="docker",
        description="a container on the local Docker engine",
        training="mlops.runtime.docker:DockerRuntime",
        executor="mlops.runtime.docker_container:start_container",
        server="mlops.runtime.docker_server:DockerModelServerRuntime",
    )
)


def runtime_names() -> tuple[str, ...]:
    """Every registered runtime, built-in ones first, in the order they were registered."""
    return tuple(_TABLE)


def server_runtime_names() -> tuple[str, ...]:
    return tuple(name for name, entry in _TABLE.items() if entry.server is not None)


def runtime_entry(name: str) -> RuntimeEntry:
    entry = _TABLE.get(name)
    if entry is None:
        raise ValidationError("runtime", f"{name!r} is not a runtime; choose one of {', '.join(runtime_names())}")
    return entry


def runtimes_help(servers: bool = False) -> str:
    """``local (a process on this machine, default) or docker (...)``, from the table (``servers``: only
    the runtimes that run model servers)."""
    entries = [e for e in _TABLE.values() if e.server is not None or not servers]
    parts = [f"{e.name} ({e.description}{', default' if e.name == DEFAULT_RUNTIME else ''})" for e in entries]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def load_object(path: str) -> object:
    """Import ``package.module:attribute`` and return the attribute (see the trust boundary above)."""
    if not re.fullmatch(IMPORT_PATH, path):
        raise ImportError(f"{path!r} is not an import path like package.module:name")
    module_name, _, attribute = path.partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ImportError(f"module {module_name} has no {attribute!r}") from None
