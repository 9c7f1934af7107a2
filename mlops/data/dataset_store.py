"""The content-addressed dataset store on a local folder.

Layout (everything a version holds lives in its folder; nothing is ever rewritten)::

    ROOT/NAME/versions/SHA12/version.json       the DatasetVersion record (SHA12: the sha256's first 12)
                             /source/…           the source's files, byte for byte
                             /table.parquet      the typed table
                             /data.csv           label-first, no header (the whole version)
                             /data.recordio      recordio-protobuf (the whole version)
                             /splits/ID/split.json, indices.npz, train.csv, train.recordio, …
                             /validations/ID/result.json, report.html
    ROOT/NAME/suite.json                         the great-expectations suite (edit it by hand)

Every path is built through ``path_under`` from checked names and ids (a dataset name follows SageMaker's
rule, versions, split and validation ids are one segment each), so no name or link leads outside ROOT.
Every folder is written under a hidden temporary name beside its final place and renamed into place in
one step, so a reader (or a crash) never sees half a version, split or validation. Version ordinals are
assigned under a lock file, so two concurrent ingests of different data get 3 and 4, never 3 and 3.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from mlops.core.datasets import (
    SHORT_VERSION_LENGTH,
    DatasetSplit,
    DatasetVersion,
    DataValidationResult,
    VersionRef,
    parse_version_ref,
)
from mlops.core.errors import ConflictError, NotFoundError, ValidationError
from mlops.core.files import path_under
from mlops.core.ids import check_name, check_record_id

if TYPE_CHECKING:
    import pandas as pd

R = TypeVar("R", bound=BaseModel)


class DatasetStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    # ------------------------------------------------------------------------------------------ paths

    def dataset_dir(self, name: str) -> Path:
        return path_under(self.root, check_name("dataset name", name), field="dataset name")

    def version_dir(self, name: str, sha: str) -> Path:
        """Named by the short hash (readable paths); the record inside holds the full sha256."""
        short = check_record_id("DatasetVersion", sha[:SHORT_VERSION_LENGTH])
        return path_under(self.dataset_dir(name), "versions", short, field="DatasetVersion")

    def suite_path(self, name: str) -> Path:
        return self.dataset_dir(name) / "suite.json"

    def split_dir(self, version: DatasetVersion, split_id: str) -> Path:
        folder = self.version_dir(version.DatasetName, version.Version)
        return path_under(folder, "splits", check_record_id("SplitId", split_id), field="SplitId")

    def validation_dir(self, version: DatasetVersion, validation_id: str) -> Path:
        folder = self.version_dir(version.DatasetName, version.Version)
        field = "ValidationId"
        return path_under(folder, "validations", check_record_id(field, validation_id), field=field)

    # --------------------------------------------------------------------------------------- versions

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and (p / "versions").is_dir())

    def versions(self, name: str) -> list[DatasetVersion]:
        folder = self.dataset_dir(name) / "versions"
        if not folder.is_dir():
            return []
        found = [_load(DatasetVersion, p / "version.json") for p in _visible(folder) if (p / "version.json").exists()]
        return sorted(found, key=lambda v: v.VersionNumber)

    def get(self, name: str, sha: str) -> DatasetVersion | None:
        path = self.version_dir(name, sha) / "version.json"
        if not path.exists():
            return None
        version = _load(DatasetVersion, path)
        if version.Version != sha:
            raise ConflictError(f"{path} holds {version.Version}, not {sha}: two versions share a hash prefix")
        return version

    def resolve(self, name: str, ref: str | VersionRef | None = None) -> DatasetVersion:
        """A version by ordinal, hash prefix or (None) the latest. See ``parse_version_ref``."""
        parsed = ref if isinstance(ref, VersionRef) else parse_version_ref(ref)
        versions = self.versions(name)
        if not versions:
            known = ", ".join(self.names()) or "none yet"
            raise NotFoundError(
                "dataset", name, f"Ingest it with `mlops data ingest {name} --source …` (datasets: {known})."
            )
        if parsed.latest:
            return versions[-1]
        if parsed.Ordinal is not None:
            for v in versions:
                if v.VersionNumber == parsed.Ordinal:
                    return v
            raise NotFoundError(
                "dataset version", f"{name} version {parsed.Ordinal}", f"{name} has versions 1..{len(versions)}."
            )
        assert parsed.Prefix is not None
        matches = [v for v in versions if v.Version.startswith(parsed.Prefix)]
        if not matches:
            raise NotFoundError(
                "dataset version", f"{name}@{parsed.Prefix}", "List versions with `mlops data versions`."
            )
        if len(matches) > 1:
            raise ValidationError(
                "--version",
                f"prefix {parsed.Prefix!r} matches versions {', '.join(str(v.VersionNumber) for v in matches)}",
            )
        return matches[0]

    def add_version(
        self, name: str, sha: str, build: Callable[[Path, Path, int], DatasetVersion]
    ) -> tuple[DatasetVersion, bool]:
        """Write a version unless it exists: ``build(tmp, final, number)`` writes the files into ``tmp``
        (naming their ``final`` places in the record). Returns the version and whether it is new."""
        existing = self.get(name, sha)
        if existing is not None:
            return existing, False
        final = self.version_dir(name, sha)
        with self._lock(name):
            existing = self.get(name, sha)
            if existing is not None:
                return existing, False
            number = len(self.versions(name)) + 1
            with _staging(final) as tmp:
                record = build(tmp, final, number)
                _write_record(tmp / "version.json", record)
        return record, True

    def table(self, version: DatasetVersion) -> pd.DataFrame:
        import pandas as pd

        return pd.read_parquet(version.TableUri)

    # ----------------------------------------------------------------------------------------- splits

    def splits(self, version: DatasetVersion) -> list[DatasetSplit]:
        folder = self.version_dir(version.DatasetName, version.Version) / "splits"
        if not folder.is_dir():
            return []
        found = [_load(DatasetSplit, p / "split.json") for p in _visible(folder) if (p / "split.json").exists()]
        return sorted(found, key=lambda s: s.CreationTime)

    def get_split(self, name: str, split_id: str) -> DatasetSplit:
        for version in self.versions(name):
            path = self.split_dir(version, split_id) / "split.json"
            if path.exists():
                return _load(DatasetSplit, path)
        raise NotFoundError("split", f"{name}/{split_id}", f"List splits with `mlops data splits {name}`.")

    def add_split(
        self, version: DatasetVersion, split_id: str, build: Callable[[Path, Path], DatasetSplit]
    ) -> tuple[DatasetSplit, bool]:
        final = self.split_dir(version, split_id)
        if (final / "split.json").exists():
            return _load(DatasetSplit, final / "split.json"), False
        with _staging(final) as tmp:
            record = build(tmp, final)
            _write_record(tmp / "split.json", record)
        return record, True

    def find_by_path(self, location: str) -> tuple[DatasetVersion, DatasetSplit | None] | None:
        """The version (and split) a training channel's file belongs to, if it lives in this store."""
        path = Path(location.removeprefix("file://")).resolve()
        try:
            relative = path.relative_to(self.root)
        except ValueError:
            return None
        parts = relative.parts
        if len(parts) < 3 or parts[1] != "versions":
            return None
        try:
            record = self.version_dir(parts[0], parts[2]) / "version.json"
            split_id = parts[4] if len(parts) > 4 and parts[3] == "splits" else None
            if split_id is not None:
                check_record_id("SplitId", split_id)
        except ValidationError:  # not a name or id of this store (a staging folder): not one of its files
            return None
        if not record.exists():
            return None
        version = _load(DatasetVersion, record)
        if split_id is not None:
            split_file = self.split_dir(version, split_id) / "split.json"
            return version, _load(DatasetSplit, split_file) if split_file.exists() else None
        return version, None

    # ------------------------------------------------------------------------------------ validations

    def add_validation(
        self, version: DatasetVersion, validation_id: str, build: Callable[[Path, Path], DataValidationResult]
    ) -> DataValidationResult:
        final = self.validation_dir(version, validation_id)
        with _staging(final) as tmp:
            record = build(tmp, final)
            _write_record(tmp / "result.json", record)
        return record

    def validations(self, version: DatasetVersion) -> list[DataValidationResult]:
        folder = self.version_dir(version.DatasetName, version.Version) / "validations"
        if not folder.is_dir():
            return []
        found = [
            _load(DataValidationResult, p / "result.json") for p in _visible(folder) if (p / "result.json").exists()
        ]
        return sorted(found, key=lambda r: r.CreationTime)

    # -------------------------------------------------------------------------------------- internals

    @contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        folder = self.dataset_dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _staging(final: Path) -> Iterator[Path]:
    """A hidden folder beside ``final``, renamed into place when the block ends without error and removed
    otherwise. If ``final`` appeared meanwhile (a concurrent identical write), the new copy is dropped."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    try:
        yield tmp
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _visible(folder: Path) -> list[Path]:
    """The folder's entries but the hidden ones (staging folders being written)."""
    return [p for p in folder.iterdir() if not p.name.startswith(".")]


def _write_record(path: Path, record: BaseModel) -> None:
    path.write_text(record.model_dump_json(indent=2) + "\n")


def _load(kind: type[R], path: Path) -> R:
    try:
        return kind.model_validate_json(path.read_text())
    except ValueError as e:
        raise ValidationError(str(path), f"not a valid {kind.__name__} record: {e}") from None
