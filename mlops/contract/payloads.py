"""Inference request and response codecs shared by the algorithms' model servers.

``decode_features`` turns a request body into a float32 array (or a CSR matrix for sparse input) without
labels; ``encode_predictions`` renders one dict per row in the Accept type, in the shapes SageMaker's
built-in algorithms answer with. Unknown types raise UnsupportedContentTypeError (HTTP 415), bodies
that do not parse raise serving.BadRequestError (HTTP 400).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mlops.contract.data import LabeledData
from mlops.contract.errors import ChannelDataError, UnsupportedContentTypeError

CSV, JSON, JSONLINES = "text/csv", "application/json", "application/jsonlines"
RECORDIO, LIBSVM = "application/x-recordio-protobuf", "text/libsvm"

_ALIASES = {
    "csv": CSV,
    "json": JSON,
    "application/json-lines": JSONLINES,
    "application/x-jsonlines": JSONLINES,
    "application/x-recordio": RECORDIO,
    "text/x-libsvm": LIBSVM,
    "libsvm": LIBSVM,
}
REQUEST_TYPES = (CSV, JSON, JSONLINES, RECORDIO, LIBSVM)
RESPONSE_TYPES = (JSON, JSONLINES, CSV, RECORDIO)


def _base(media_type: str) -> str:
    base = media_type.split(";")[0].strip().lower()
    return _ALIASES.get(base, base)


def _bad_request(message: str) -> Exception:
    from mlops.contract.serving import BadRequestError  # lazily: serving may import this module

    return BadRequestError(message)


def _read(reader: Any, body: bytes, kind: str) -> LabeledData:
    try:
        data: LabeledData = reader(io.BytesIO(body), "request", "body", 0)
    except ChannelDataError as e:
        unit = "record" if kind == RECORDIO else "line"
        where = f"{unit} {e.line}: " if e.line is not None else ""
        raise _bad_request(f"could not parse the {kind} body: {where}{str(e).split(': ', 1)[-1]}") from None
    return data


def _decode_json(body: bytes) -> Any:
    from mlops.contract.jsonlines_format import RowStack, add_instance

    try:
        document = json.loads(body)
    except ValueError as e:
        raise _bad_request(f"the body is not valid JSON: {e}") from None
    except RecursionError:
        raise _bad_request("the JSON body is nested too deeply") from None
    if isinstance(document, dict) and "instances" in document:
        instances = document["instances"]
    elif isinstance(document, dict) and ("features" in document or "data" in document):
        instances = [document]
    elif isinstance(document, list) and document and not isinstance(document[0], list | dict):
        instances = [document]  # one bare row
    else:
        instances = document
    if not isinstance(instances, list):
        raise _bad_request('expected {"instances": [...]}, {"features": [...]} or a list of rows')
    stack = RowStack()
    for number, instance in enumerate(instances, start=1):
        try:
            add_instance(stack, instance)
        except ValueError as e:
            raise _bad_request(f"instance {number}: {e}") from None
    return stack.matrix()


def _small_csv(body: bytes) -> np.ndarray | None:
    """A small, plain numeric CSV body parsed without pandas (a few microseconds instead of milliseconds);
    None hands anything else (quotes, ragged rows, bad cells) to csv_format.read_csv and its messages."""
    if len(body) > 65536 or b'"' in body or b"_" in body or not body.isascii():
        return None  # float() reads "1_0" and non-ASCII digits, which csv_format.number refuses
    try:
        rows = [
            [float(cell) if cell.strip() else np.nan for cell in line.split(b",")]
            for line in body.splitlines()
            if line.strip()
        ]
        with np.errstate(over="ignore"):  # beyond float32's range is +-inf, as in csv_format
            array = np.array(rows, dtype=np.float32)
    except ValueError:
        return None
    return array if array.ndim == 2 else None


def decode_features(body: bytes, content_type: str) -> Any:
    """Rows of features (no label column) as a float32 ndarray, or a float32 CSR matrix when sparse."""
    kind = _base(content_type)
    if kind not in REQUEST_TYPES:
        raise UnsupportedContentTypeError(
            f"content type {content_type!r} is not supported; use one of {', '.join(REQUEST_TYPES)}"
        )
    if not body.strip():
        raise _bad_request("the request body is empty")
    if kind == JSON:
        return _decode_json(body)
    if kind == CSV:
        from mlops.contract.csv_format import read_csv

        small = _small_csv(body)
        return small if small is not None else _read(read_csv, body, kind).X
    if kind == JSONLINES:
        from mlops.contract.jsonlines_format import read_jsonlines

        return _read(read_jsonlines, body, kind).X
    if kind == RECORDIO:
        from mlops.contract.recordio import read_recordio_protobuf

        return _read(read_recordio_protobuf, body, kind).X
    from mlops.contract.libsvm_format import read_libsvm

    # SageMaker's XGBoost reads libsvm payloads with a (dummy) label first; accept lines with or without.
    tokens = (line.split(b"#", 1)[0].split() for line in body.splitlines())
    first = next((t[0] for t in tokens if t), b":")
    labelled = int(b":" not in first)
    return _read(lambda s, c, f, _: read_libsvm(s, c, f, labelled), body, kind).X


def _plain(value: Any) -> Any:
    """JSON-ready Python values; float32 numbers keep their short form (0.1, not 0.10000000149)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in (value if value.dtype == np.float32 else value.tolist())]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.floating) and value.dtype == np.float32:
        return float(str(value))
    if isinstance(value, np.generic):
        return value.item()
    return value


def _text(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    if isinstance(value, bool):
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _accept(accept: str) -> str:
    for candidate in accept.split(","):
        base = _base(candidate)
        if base in ("", "*/*", "application/*"):
            return JSON
        if base == "text/*":
            return CSV
        if base in RESPONSE_TYPES:
            return base
    supported = ", ".join(RESPONSE_TYPES)
    raise UnsupportedContentTypeError(f"accept type {accept!r} is not supported; use one of {supported}")


def encode_predictions(records: Sequence[Mapping[str, Any]], accept: str) -> tuple[bytes, str]:
    """One record per row (e.g. ``{"score": 0.8, "predicted_label": 1}``) in the Accept type.

    JSON: ``{"predictions": [...]}``; JSON lines: one object per line; CSV: one line per record, the
    "score" alone when the record has one, else all its values (lists flattened) in order; RecordIO:
    one record per row whose label map holds each key as a float32 tensor.
    """
    kind = _accept(accept)
    if kind == JSON:
        return json.dumps({"predictions": [_plain(r) for r in records]}).encode(), JSON
    if kind == JSONLINES:
        return "".join(json.dumps(_plain(r)) + "\n" for r in records).encode(), JSONLINES
    if kind == CSV:
        lines = [_text(r["score"] if "score" in r else list(r.values())) for r in records]
        return "".join(line + "\n" for line in lines).encode(), CSV
    from mlops.contract.recordio import encode_label_maps

    return encode_label_maps(records), RECORDIO
