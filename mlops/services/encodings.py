"""Which feature encoding a piece of data has, and the one refusal when data and a model disagree.

A file's encoding is known when it lives in a dataset store (a version's or split's file: the version's
``Encoding``) or has a sidecar beside it (``mlops sample-data`` writes ``train.csv.encoding.json``).
Anything else (a user's own file, an ``s3://`` object) has an unknown encoding and is accepted as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlops.core.datasets import FeatureEncoding
from mlops.core.encodings import first_difference
from mlops.core.errors import ValidationError
from mlops.core.hosting import Model
from mlops.core.training import TrainingJob
from mlops.data.dataset_store import DatasetStore
from mlops.data.encoding_sidecar import read_sidecar
from mlops.services.label_first_csv import first_channel_file


@dataclass(frozen=True)
class KnownEncoding:
    encoding: FeatureEncoding
    source: str  # where it was found, as a user knows it: "dataset churn@1a2b… (version 1)", "data/train.csv"


def known(encoding: FeatureEncoding | None, source: str) -> KnownEncoding | None:
    return None if encoding is None else KnownEncoding(encoding, source)


def model_encoding(model: Model | None, job: TrainingJob | None) -> KnownEncoding | None:
    """What a model's feature columns mean: its hosting record's encoding, else its training job's."""
    if model is not None and model.FeatureEncoding is not None:
        return KnownEncoding(model.FeatureEncoding, f"model {model.ModelName}'s encoding")
    if job is not None and job.FeatureEncoding is not None:
        return KnownEncoding(job.FeatureEncoding, f"training job {job.TrainingJobName}'s encoding")
    return None


def _store_of(path: Path) -> DatasetStore | None:
    """The dataset store a file lives in: ROOT/NAME/versions/SHA/… ."""
    for folder in path.parents:
        if folder.parent.name == "versions" and len(folder.parents) >= 3:
            return DatasetStore(folder.parent.parent.parent)
    return None


def encoding_of(location: str) -> KnownEncoding | None:
    """The encoding of a channel or test file (a path or file:// URI; a folder: its first data file)."""
    if "://" in location and not location.startswith("file://"):
        return None  # s3:// objects are never read here
    path = Path(location.removeprefix("file://")).expanduser()
    if not path.exists():
        return None
    path = path.resolve()
    store = _store_of(path)
    if store is not None:
        found = store.find_by_path(str(path))
        if found is not None:
            version, split = found
            part = f" split {split.SplitId}" if split is not None else ""
            return KnownEncoding(version.Encoding, f"dataset {version.ref}{part}")
    first = first_channel_file(path) if path.is_dir() else path
    if first is None:
        return None
    sidecar = read_sidecar(first)
    return KnownEncoding(sidecar, str(first)) if sidecar is not None else None


def refuse_mismatch(field: str, data: KnownEncoding | None, model: KnownEncoding | None, action: str) -> None:
    """Refuse (``ValidationError`` on ``field``) when both encodings are known and differ, naming the
    first differing feature; ``action`` says how to fix it."""
    if data is None or model is None:
        return
    difference = first_difference(data.encoding, model.encoding, data.source, model.source)
    if difference is not None:
        raise ValidationError(field, f"{difference}; {action}")


def channels_encoding(channels: dict[str, str]) -> FeatureEncoding | None:
    """The one encoding of a job's channels (None when none is known). Channels whose encodings differ
    are refused before the job starts, naming the channel and the first differing feature."""
    known: tuple[str, KnownEncoding] | None = None
    for name, location in channels.items():
        found = encoding_of(location)
        if found is None:
            continue
        if known is None:
            known = (name, found)
            continue
        first_name, first = known
        difference = first_difference(
            found.encoding, first.encoding, f"channel {name} ({found.source})", f"channel {first_name} ({first.source})"
        )
        if difference is not None:
            raise ValidationError(
                f"channel {name}",
                f"{difference}; train every channel on data encoded one way (split one dataset version, or "
                "ingest the new data with --encoding-from)",
            )
    return known[1].encoding if known is not None else None
