"""Records on disk, one folder per record: ``request.json`` (what was asked) and ``job.json`` (the record as
it stands), both written by atomic renames, so a reader never sees half a record and a record survives the
death of whoever made it. Every path goes through ``folder``: the name is checked by the record's naming
rule and the folder must resolve inside the store's root. Folders are made 0700 and files 0600: nobody
but their owner reads a record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel

from mlops.core.errors import ConflictError, NotFoundError
from mlops.core.files import PRIVATE_FOLDER_MODE, path_under, write_atomic

RequestT = TypeVar("RequestT", bound=BaseModel)
RecordT = TypeVar("RecordT", bound=BaseModel)

REQUEST_FILE = "request.json"
RECORD_FILE = "job.json"


class RecordStore(Generic[RequestT, RecordT]):
    """A folder per record under ``root``, named by the ``name_field`` of its request and its record.

    ``check_name(field, name)`` is the naming rule (it raises a ValidationError naming ``field``), ``noun``
    says what a record is in errors ("training job") and ``hint`` what to do when a name is not found."""

    def __init__(
        self,
        root: Path,
        request_model: type[RequestT],
        record_model: type[RecordT],
        *,
        name_field: str,
        check_name: Callable[[str, str], str],
        noun: str,
        hint: str = "",
    ) -> None:
        self.root = root.resolve()  # processes started elsewhere (another working directory) must find it
        self.request_model = request_model
        self.record_model = record_model
        self.name_field = name_field
        self.check_name = check_name
        self.noun = noun
        self.hint = hint

    def folder(self, name: str) -> Path:
        """The record's folder: the name is checked and the folder must stay in the store."""
        return path_under(self.root, self.check_name(self.name_field, name), field=self.name_field)

    def _name_of(self, model: BaseModel) -> str:
        return str(getattr(model, self.name_field))

    def reserve(self, request: RequestT) -> Path:
        """Make the record's folder and write its request; a name already taken is a ConflictError."""
        name = self._name_of(request)
        folder = self.folder(name)
        self.root.mkdir(PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
        try:
            folder.mkdir(PRIVATE_FOLDER_MODE)  # what a record's folder holds (data, log, record) is its owner's
        except FileExistsError:
            raise ConflictError(f"a {self.noun} named {name!r} already exists") from None
        write_atomic(folder / REQUEST_FILE, request.model_dump_json(indent=2))
        return folder

    def request(self, name: str) -> RequestT:
        path = self.folder(name) / REQUEST_FILE
        if not path.exists():
            raise NotFoundError(self.noun, name, self.hint)
        return self.request_model.model_validate_json(path.read_text())

    def save(self, record: RecordT) -> RecordT:
        write_atomic(self.folder(self._name_of(record)) / RECORD_FILE, record.model_dump_json(indent=2))
        return record

    def load(self, name: str) -> RecordT:
        path = self.folder(name) / RECORD_FILE
        if not path.exists():
            raise NotFoundError(self.noun, name, self.hint)
        return self.record_model.model_validate_json(path.read_text())

    def exists(self, name: str) -> bool:
        return (self.folder(name) / RECORD_FILE).exists()

    def names(self) -> list[str]:
        """Names of the records saved (a folder reserved but not yet saved is left out), sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob(f"*/{RECORD_FILE}"))
