"""Inference request and response codecs shared by the algorithms' model servers.

``decode_features`` turns a request body into a float32 array (or a CSR matrix for sparse input) without
labels; ``encode_predictions`` renders one dict per row in the Accept type, in the shapes SageMaker's
built-in algorithms answer with. Unknown types raise UnsupportedContentTypeError (HTTP 415), bodies
that do not parse raise serving.BadRequestError (HTTP 400).
"""

from __future__ import annotations

import io
import json
import math
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


def media_type(content_type: str) -> str:
    """The base type of a Content-Type or Accept value, lower case, aliases resolved ("csv": text/csv)."""
    return _base(content_type)


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


def _json(text: bytes, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as e:
        raise _bad_request(f"{where} is not valid JSON: {e}") from None
    except RecursionError:
        raise _bad_request(f"{where} is nested too deeply") from None


def _decode_json(body: bytes, features: int | None) -> Any:
    from mlops.contract.instances import RowStack, add_instance

    document = _json(body, "the body")
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
    stack = RowStack(features)
    for number, instance in enumerate(instances, start=1):
        try:
            add_instance(stack, instance)
        except ValueError as e:
            raise _bad_request(f"instance {number}: {e}") from None
    return stack.matrix()


def _decode_jsonlines(body: bytes, features: int | None) -> Any:
    """One instance per line (blank lines skipped); an error names the line, which is the instance's place."""
    from mlops.contract.instances import RowStack, add_instance

    stack = RowStack(features)
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        instance = _json(line, f"line {number}")
        try:
            add_instance(stack, instance)
        except ValueError as e:
            raise _bad_request(f"line {number}: {e}") from None
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


def decode_features(
    body: bytes, content_type: str, features: int | None = None, supported: Sequence[str] = REQUEST_TYPES
) -> Any:
    """Rows of features (no label column) as a float32 ndarray, or a float32 CSR matrix when sparse.

    ``features``: the model's feature count, when the caller knows it. JSON and JSON Lines instances are
    then checked against it (an error names the instance), and a sparse instance without a shape indexes
    into it. ``supported``: the request types the algorithm accepts (its SupportedContentTypes)."""
    kind = _base(content_type)
    if kind not in supported or kind not in REQUEST_TYPES:
        raise UnsupportedContentTypeError(
            f"content type {content_type!r} is not supported; use one of {', '.join(supported)}"
        )
    if not body.strip():
        raise _bad_request("the request body is empty")
    if kind == JSON:
        return _decode_json(body, features)
    if kind == CSV:
        from mlops.contract.csv_format import read_csv

        small = _small_csv(body)
        return small if small is not None else _read(read_csv, body, kind).X
    if kind == JSONLINES:
        return _decode_jsonlines(body, features)
    if kind == RECORDIO:
        from mlops.contract.recordio import read_recordio_protobuf

        return _read(read_recordio_protobuf, body, kind).X
    from mlops.contract.libsvm_format import read_libsvm

    # SageMaker's XGBoost reads libsvm payloads with a (dummy) label first; accept lines with or without.
    tokens = (line.split(b"#", 1)[0].split() for line in body.splitlines())
    first = next((t[0] for t in tokens if t), b":")
    labelled = int(b":" not in first)
    return _read(lambda s, c, f, _: read_libsvm(s, c, f, labelled), body, kind).X


def _plain(value: Any, csv: bool = False) -> Any:
    """JSON-ready Python values; float32 numbers keep their short form (0.1, not 0.10000000149), and a
    float that is not finite is None (JSON's null) unless ``csv``, where it stays a float."""
    if isinstance(value, np.ndarray):
        return [_plain(v, csv) for v in (value if value.dtype == np.float32 else value.tolist())]
    if isinstance(value, list | tuple):
        return [_plain(v, csv) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v, csv) for k, v in value.items()}
    if isinstance(value, np.floating) and value.dtype == np.float32:
        value = float(str(value))
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not csv and not math.isfinite(value):
        return None
    return value


def _text(value: Any, csv: bool = True) -> str:
    value = _plain(value, csv)
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    if isinstance(value, bool):
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _accept(accept: str, supported: Sequence[str]) -> str:
    for candidate in accept.split(","):
        base = _base(candidate)
        if base in ("", "*/*", "application/*"):
            return JSON if JSON in supported else supported[0]
        if base == "text/*" and CSV in supported:
            return CSV
        if base in supported and base in RESPONSE_TYPES:
            return base
    raise UnsupportedContentTypeError(f"accept type {accept!r} is not supported; use one of {', '.join(supported)}")


def _json_text(document: Any) -> str:
    try:
        return json.dumps(document, allow_nan=False)
    except ValueError as e:  # _plain turned every float into a finite number or None: a bug if reached
        raise RuntimeError(f"the answer holds a number JSON cannot carry: {e}") from None


def encode_predictions(
    records: Sequence[Mapping[str, Any]], accept: str, supported: Sequence[str] = RESPONSE_TYPES
) -> tuple[bytes, str]:
    """One record per row (e.g. ``{"score": 0.8, "predicted_label": 1}``) in the Accept type.

    JSON: ``{"predictions": [...]}``; JSON lines: one object per line; CSV: one line per record, the
    "score" alone when the record has one, else all its values (lists flattened) in order; RecordIO:
    one record per row whose label map holds each key as a float32 tensor. JSON has no NaN or
    infinity: a score that is not a finite number is ``null`` there (CSV writes nan/inf, which pandas
    and float() read; RecordIO carries the float). ``supported``: the algorithm's response types.
    """
    kind = _accept(accept, supported)
    if kind == JSON:
        return _json_text({"predictions": [_plain(r) for r in records]}).encode(), JSON
    if kind == JSONLINES:
        return "".join(_json_text(_plain(r)) + "\n" for r in records).encode(), JSONLINES
    if kind == CSV:
        lines = [_text(r["score"] if "score" in r else list(r.values()), csv=True) for r in records]
        return "".join(line + "\n" for line in lines).encode(), CSV
    from mlops.contract.recordio import encode_label_maps

    return encode_label_maps(records), RECORDIO


def decode_predictions(body: bytes, content_type: str) -> list[Any]:
    """The rows of an answer, the inverse of ``encode_predictions`` (and what SageMaker's built-ins
    answer): per row the JSON object (or value) of ``{"predictions": [...]}`` or of a JSON line, a
    RecordIO record's label map as ``{key: [floats]}``, or a CSV line's numbers (one number alone as a
    float). JSON's null stays None. A body that does not parse raises ValueError naming the row."""
    from mlops.contract.csv_format import number as csv_number

    kind = _base(content_type)
    if kind == RECORDIO:
        from mlops.contract.recordio import decode_label_maps

        try:
            maps = decode_label_maps(body)
        except ChannelDataError as e:
            raise ValueError(f"the RecordIO answer does not parse: {str(e).split(': ', 1)[-1]}") from None
        return [{k: v.astype(float).tolist() for k, v in m.items()} for m in maps]
    if kind not in (JSON, JSONLINES, CSV):
        expected = ", ".join(RESPONSE_TYPES)
        raise UnsupportedContentTypeError(f"answers of type {content_type!r} cannot be read; use one of {expected}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"the {kind} answer is not UTF-8 text (byte {e.start})") from None
    if kind == JSON:
        document = json.loads(text)
        items = document["predictions"] if isinstance(document, dict) and "predictions" in document else document
        return items if isinstance(items, list) else [items]
    rows: list[Any] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if kind == JSONLINES:
            rows.append(json.loads(line))
            continue
        try:
            cells = [csv_number(c) for c in line.split(",")]
        except ValueError:
            raise ValueError(f"line {number} of the CSV answer is not numbers: {line[:40]!r}") from None
        rows.append(cells[0] if len(cells) == 1 else cells)
    return rows
