"""The monitored view of a table: one column per raw input column the model reads, decoded the same way
whether it comes from the training table or from captured, encoded request rows.

Numeric, boolean and date features are floats (dates: days since 1970-01-01); a one-hot group becomes
one categorical column whose value is the category, or ``OTHER`` when the row named none the baseline
knows (the encoding writes all zeros for an unknown or missing category, so both look the same in
captured traffic, and the training table is decoded the same way so the two agree).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops.core.datasets import FeatureEncoding, FeatureKind
from mlops.core.errors import ValidationError

OTHER = "__other__"
LABEL = "__label__"  # reserved columns of a reference table
SCORE = "__score__"
_EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")


def class_text(value: object) -> str:
    """How the encoding names a category or class: 1.0 → "1", anything else as str()."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class Column:
    name: str
    kind: FeatureKind  # OneHot for a categorical column
    indices: tuple[int, ...]  # its positions in the encoded vector
    categories: tuple[str, ...] = ()  # OneHot only, in encoding order

    @property
    def categorical(self) -> bool:
        return self.kind is FeatureKind.OneHot


def columns_of(encoding: FeatureEncoding) -> tuple[Column, ...]:
    positions: dict[str, list[int]] = {}
    for j, feature in enumerate(encoding.Features):
        positions.setdefault(feature.Column, []).append(j)
    out = []
    for name, indices in positions.items():
        kind = encoding.Features[indices[0]].Kind
        categories = tuple(str(encoding.Features[j].Category) for j in indices) if kind is FeatureKind.OneHot else ()
        out.append(Column(name, kind, tuple(indices), categories))
    return tuple(out)


def categorical_dtype(column: Column) -> pd.CategoricalDtype:
    return pd.CategoricalDtype([*column.categories, OTHER])


def frame_from_matrix(matrix: np.ndarray, encoding: FeatureEncoding, width: int | None = None) -> pd.DataFrame:
    """Decode encoded rows. A matrix narrower than the encoding loses the columns it cannot fill (the
    data-quality monitor reports them missing); wider, it keeps the surplus as ``_c<j>`` columns."""
    n, have = matrix.shape
    data: dict[str, object] = {}
    for column in columns_of(encoding):
        if max(column.indices) >= have:
            continue
        if column.categorical:
            block = matrix[:, list(column.indices)]
            hot = block >= 0.5
            codes = np.where(hot.any(axis=1), hot.argmax(axis=1), len(column.categories)).astype(np.int16)
            data[column.name] = pd.Categorical.from_codes(codes, dtype=categorical_dtype(column))
        else:
            data[column.name] = matrix[:, column.indices[0]].astype(np.float64)
    for j in range(len(encoding.Features), have if width is None else max(have, width)):
        data[f"_c{j}"] = matrix[:, j].astype(np.float64) if j < have else np.full(n, np.nan)
    return pd.DataFrame(data, index=pd.RangeIndex(n))


def monitor_frame(raw: pd.DataFrame, encoding: FeatureEncoding, where: str = "data") -> pd.DataFrame:
    """The monitored view of a raw table (the training data, a raw capture)."""
    data: dict[str, object] = {}
    for column in columns_of(encoding):
        if column.name not in raw.columns:
            raise ValidationError(where, f"missing column {column.name!r}; columns: {', '.join(map(str, raw.columns))}")
        series = raw[column.name]
        if column.categorical:
            texts = series.astype(object).map(lambda v: OTHER if v is None or v != v else class_text(v))
            texts = texts.where(texts.isin(column.categories), OTHER)
            data[column.name] = pd.Categorical(texts, dtype=categorical_dtype(column))
        elif column.kind is FeatureKind.Date:
            moments = pd.to_datetime(series, errors="coerce").to_numpy(dtype="datetime64[ns]")
            data[column.name] = ((moments - _EPOCH) / np.timedelta64(1, "D")).astype(np.float64)
        elif column.kind is FeatureKind.Boolean:
            data[column.name] = (
                series.map({True: 1.0, False: 0.0}).astype(np.float64)
                if series.dtype == bool
                else (pd.to_numeric(series, errors="coerce").astype(np.float64))
            )
        else:
            data[column.name] = pd.to_numeric(series, errors="coerce").astype(np.float64)
    return pd.DataFrame(data, index=raw.index)


def matrix_from_frame(frame: pd.DataFrame, encoding: FeatureEncoding) -> np.ndarray:
    """The float32 matrix the model reads, from the monitored view (missing columns: NaN / all zero)."""
    out = np.zeros((len(frame), len(encoding.Features)), dtype=np.float32)
    for column in columns_of(encoding):
        if column.name not in frame.columns:
            if not column.categorical:
                out[:, column.indices[0]] = np.nan
            continue
        series = frame[column.name]
        if column.categorical:
            if isinstance(series.dtype, pd.CategoricalDtype):
                texts = np.asarray(series.cat.categories.astype(str))[series.cat.codes.to_numpy()]
                texts = np.where(series.cat.codes.to_numpy() < 0, OTHER, texts)
            else:
                texts = series.astype(object).map(class_text).to_numpy()
            for j, category in zip(column.indices, column.categories, strict=True):
                out[:, j] = texts == category
        else:
            out[:, column.indices[0]] = pd.to_numeric(series, errors="coerce").to_numpy(
                dtype=np.float32, na_value=np.nan
            )
    return out


def label_index(values: Sequence[object] | pd.Series, encoding: FeatureEncoding) -> np.ndarray:
    """Labels as the float the model was trained on (class index, or the value for regression); NaN for a
    label that is missing or not one of the declared classes."""
    series = pd.Series(list(values) if not isinstance(values, pd.Series) else values, dtype=object)
    if not encoding.ProblemType.classification:
        return np.asarray(pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64))
    index = {c: float(i) for i, c in enumerate(encoding.Classes)}
    mapped = series.map(lambda v: index.get(class_text(v), np.nan) if v is not None else np.nan)
    return np.asarray(mapped.to_numpy(dtype=np.float64))
