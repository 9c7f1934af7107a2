"""Hosting records on disk under ``HOME/hosting``: one JSON file per model, endpoint config and
endpoint, plus the list of running model-server instances (for the orphan reaper and restarts).

Every write is a whole-file atomic replace, so a reader (the CLI, a restarted control process) never
sees half a record. Models and endpoint configs are immutable once created (``create`` refuses an
existing name, without a race); endpoints are written only by the control process. A name is
checked against SageMaker's rule and its file must resolve inside the store (``path_under``), so no
name (``../x``) or symlink reaches a record elsewhere; a record read back is validated too.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from mlops.core import files
from mlops.core.errors import ConflictError, NotFoundError
from mlops.core.errors import ValidationError as MlopsValidationError
from mlops.core.files import path_under, temp_beside
from mlops.core.home import Home
from mlops.core.hosting import Endpoint, EndpointConfig, Model
from mlops.core.ids import check_name

R = TypeVar("R", bound=BaseModel)

_FIELDS = {"models": "ModelName", "endpoint-configs": "EndpointConfigName", "endpoints": "EndpointName"}


class InstanceRecord(BaseModel):
    """A model-server instance the control process started (enough to stop it from anywhere)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    InstanceId: str
    Url: str
    Pid: int | None = None
    ProcessStartTime: float | None = None  # guards against a recycled pid
    ContainerId: str | None = None
    EndpointName: str = ""
    EndpointConfigName: str = ""
    VariantName: str = ""
    Role: str = "production"


class InstanceList(BaseModel):
    model_config = ConfigDict(extra="ignore")

    ControlPid: int | None = None
    ControlTag: str | None = None  # every model server of that control process carries it in its environment
    Instances: list[InstanceRecord] = []


def write_atomic(path: Path, text: str) -> None:
    files.write_atomic(path, text, durable=True)


def create_exclusive(path: Path, text: str) -> bool:
    """Write ``path`` only if it does not exist yet (atomically); False if it does."""
    tmp = temp_beside(path, text, durable=True)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    return True


class HostingStore:
    def __init__(self, home: Path) -> None:
        self.root = Home(home).hosting.resolve()

    @property
    def instances_path(self) -> Path:
        return self.root / "instances.json"

    @property
    def control_path(self) -> Path:
        return self.root / "control.json"

    def _path(self, kind: str, name: str) -> Path:
        """The record's file: the name is checked (SageMaker's rule) and the path must stay in the store."""
        field = _FIELDS[kind]
        return path_under(self.root, kind, f"{check_name(field, name)}.json", field=field)

    def _create(self, kind: str, label: str, name: str, record: BaseModel) -> None:
        path = self._path(kind, name)
        if not create_exclusive(path, record.model_dump_json(indent=2)):
            raise ConflictError(f"{label} {name!r} already exists")

    def _get(self, kind: str, label: str, name: str, cls: type[R], hint: str = "") -> R:
        path = self._path(kind, name)
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise NotFoundError(label, name, hint) from None
        return _parse(cls, text, f"{label} {name!r}")

    def _list(self, kind: str, cls: type[R]) -> list[R]:
        folder = self.root / kind
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(folder.glob("*.json")):
            with contextlib.suppress(FileNotFoundError):
                out.append(_parse(cls, path.read_text(), str(path)))
        return out

    def _delete(self, kind: str, label: str, name: str) -> None:
        try:
            self._path(kind, name).unlink()
        except FileNotFoundError:
            raise NotFoundError(label, name) from None

    # models
    def create_model(self, model: Model) -> Model:
        self._create("models", "model", model.ModelName, model)
        return model

    def model(self, name: str) -> Model:
        return self._get("models", "model", name, Model, "Create it with `mlops models create`.")

    def models(self) -> list[Model]:
        return self._list("models", Model)

    def delete_model(self, name: str) -> None:
        self._delete("models", "model", name)

    # endpoint configs
    def create_endpoint_config(self, config: EndpointConfig) -> EndpointConfig:
        self._create("endpoint-configs", "endpoint config", config.EndpointConfigName, config)
        return config

    def endpoint_config(self, name: str) -> EndpointConfig:
        return self._get(
            "endpoint-configs",
            "endpoint config",
            name,
            EndpointConfig,
            "Create it with `mlops endpoint-configs create`.",
        )

    def endpoint_configs(self) -> list[EndpointConfig]:
        return self._list("endpoint-configs", EndpointConfig)

    def delete_endpoint_config(self, name: str) -> None:
        self._delete("endpoint-configs", "endpoint config", name)

    # endpoints (written by the control process only)
    def save_endpoint(self, endpoint: Endpoint) -> Endpoint:
        write_atomic(self._path("endpoints", endpoint.EndpointName), endpoint.model_dump_json(indent=2))
        return endpoint

    def endpoint(self, name: str) -> Endpoint:
        return self._get("endpoints", "endpoint", name, Endpoint, "Create it with `mlops endpoints create`.")

    def endpoints(self) -> list[Endpoint]:
        return self._list("endpoints", Endpoint)

    def delete_endpoint(self, name: str) -> None:
        with contextlib.suppress(NotFoundError):
            self._delete("endpoints", "endpoint", name)

    # running instances
    def save_instances(self, records: list[InstanceRecord], tag: str | None = None) -> None:
        document = InstanceList(ControlPid=os.getpid(), ControlTag=tag, Instances=records)
        write_atomic(self.instances_path, document.model_dump_json(indent=2))

    def instances(self) -> list[InstanceRecord]:
        return read_instances(self.instances_path).Instances


def _parse(cls: type[R], text: str, where: str) -> R:
    """A record read back from its file; a bad one (a hand-edited file naming ``../x``) is refused
    with the record and pydantic's location of the field."""
    try:
        return cls.model_validate_json(text)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg'].removeprefix('Value error, ')}"
            for item in e.errors()[:3]
        )
        raise MlopsValidationError(where, problems) from None


def read_instances(path: Path) -> InstanceList:
    try:
        return InstanceList.model_validate_json(path.read_text())
    except (FileNotFoundError, ValidationError, ValueError):
        return InstanceList()
