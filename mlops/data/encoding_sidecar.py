"""The feature encoding of a label-first file that lives outside the dataset store, in a file beside it.

``mlops sample-data`` writes ``train.csv`` and ``train.csv.encoding.json`` (the ``FeatureEncoding`` as
JSON) so a job trained on the file knows what its columns mean. A file without a sidecar has an unknown
encoding (a user's own data): nothing is refused for it. A sidecar that is there but unreadable is
refused naming the file, never ignored.
"""

from __future__ import annotations

from pathlib import Path

import pydantic

from mlops.core.datasets import FeatureEncoding
from mlops.core.errors import ValidationError

SUFFIX = ".encoding.json"
MAX_BYTES = 4 << 20


def sidecar_of(data_file: Path) -> Path:
    return data_file.with_name(data_file.name + SUFFIX)


def write_sidecar(data_file: Path, encoding: FeatureEncoding) -> Path:
    target = sidecar_of(data_file)
    target.write_text(encoding.model_dump_json(indent=2) + "\n")
    return target


def read_sidecar(data_file: Path) -> FeatureEncoding | None:
    """The encoding recorded beside ``data_file``, or None when there is no sidecar."""
    target = sidecar_of(data_file)
    if not target.is_file():
        return None
    if target.stat().st_size > MAX_BYTES:
        raise ValidationError(str(target), f"is larger than {MAX_BYTES} bytes; not a feature encoding")
    try:
        return FeatureEncoding.model_validate_json(target.read_bytes())
    except pydantic.ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the document"
        raise ValidationError(str(target), f"not a feature encoding ({where}: {first['msg']})") from None
    except OSError as e:
        raise ValidationError(str(target), f"cannot be read: {e.strerror or e}") from None
