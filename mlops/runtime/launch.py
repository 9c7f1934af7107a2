"""The launch record: what a training runtime tells the job's supervisor (``launch.json`` in the job's
folder), written and read through ``TrainingLaunch``.

The common part names the runtime, the supervisor's executor (an import path, see table.py), the grace
period between SIGTERM and SIGKILL and the interpreter of the launcher; ``target`` is what the executor
starts: an algorithm folder (``train`` run as a process) or a container image. A new kind of target is
a new member of ``LaunchTarget``; a new runtime starting one of these kinds needs no change here.

The record is validated when read: a broken or hostile file gives a ``LaunchRecordError`` naming the
file and the field, and the supervisor ends the job Failed with that reason.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from mlops.core.files import write_atomic
from mlops.runtime.table import IMPORT_PATH, RUNTIME_NAME

LAUNCH_FILE = "launch.json"
MAX_LAUNCH_BYTES = 64 * 1024  # a launch record is a few hundred bytes


class LaunchRecordError(ValueError):
    """launch.json is missing, unreadable or not a valid ``TrainingLaunch``; the message names the file
    and, when one is at fault, the field."""


class AlgorithmFolder(BaseModel):
    """Run the folder's own ``train`` entry point as a process (local process runtimes)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["algorithm-folder"] = "algorithm-folder"
    algorithm_folder: str = Field(min_length=1)


class ContainerImage(BaseModel):
    """Run ``train`` in a container of this image (``image_id``: the exact image resolved at launch)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["image"] = "image"
    image: str = Field(min_length=1)
    image_id: str | None = None


LaunchTarget = Annotated[AlgorithmFolder | ContainerImage, Field(discriminator="kind")]


class TrainingLaunch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    runtime: str = Field(pattern=RUNTIME_NAME)
    executor: str = Field(pattern=IMPORT_PATH, max_length=200)
    stop_grace_seconds: float = Field(ge=0, allow_inf_nan=False)
    python: str = Field(min_length=1)
    target: LaunchTarget

    def folder(self) -> Path:
        """The algorithm folder to run, or a clear error when this runtime was given an image."""
        if not isinstance(self.target, AlgorithmFolder):
            raise LaunchRecordError(
                f"runtime {self.runtime!r} runs an algorithm folder; "
                f"its launch record names a {self.target.kind!r} target"
            )
        return Path(self.target.algorithm_folder)

    def image(self) -> ContainerImage:
        """The image to run, or a clear error when this runtime was given an algorithm folder."""
        if not isinstance(self.target, ContainerImage):
            raise LaunchRecordError(
                f"runtime {self.runtime!r} runs a container image; "
                f"its launch record names a {self.target.kind!r} target"
            )
        return self.target

    def write(self, path: Path) -> None:
        write_atomic(path, self.model_dump_json(indent=2))

    @classmethod
    def read(cls, path: Path) -> TrainingLaunch:
        """Read and validate ``path``: a regular file (not through a link), at most 64 KiB, valid JSON
        holding a valid record."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            raise LaunchRecordError(f"the launch record {path} does not exist") from None
        except OSError as e:
            raise LaunchRecordError(f"the launch record {path} could not be opened: {e.strerror}") from None
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise LaunchRecordError(f"the launch record {path} is not a regular file")
            data = f.read(MAX_LAUNCH_BYTES + 1)
        if len(data) > MAX_LAUNCH_BYTES:
            raise LaunchRecordError(f"the launch record {path} is larger than {MAX_LAUNCH_BYTES} bytes")
        try:
            return cls.model_validate(json.loads(data))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise LaunchRecordError(f"the launch record {path} is not JSON: {e}") from None
        except PydanticValidationError as e:
            raise LaunchRecordError(f"the launch record {path} is not valid: {_problems(e)}") from None


def _problems(error: PydanticValidationError) -> str:
    out = []
    for problem in error.errors(include_url=False)[:5]:
        field = ".".join(str(part) for part in problem["loc"]) or "(the record)"
        got = "" if problem["type"] == "missing" else f" (got {_short(problem.get('input'))})"
        out.append(f"field {field!r}: {problem['msg']}{got}")
    return "; ".join(out)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
