"""Reading sources, typing columns and the feature encoding recorded with each version."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops.contract.csv_format import read_csv
from mlops.contract.recordio import read_recordio_protobuf
from mlops.core.datasets import ColumnType, DataFormat, FeatureKind, ProblemType
from mlops.core.errors import ValidationError
from mlops.data import formats
from mlops.data.churn_sample import generate


@pytest.fixture(scope="module")
def churn_frame() -> pd.DataFrame:
    return formats.type_columns(generate(400, seed=3))


def test_types_dates_and_strings(churn_frame: pd.DataFrame) -> None:
    schema = {c.Name: c.Type for c in formats.schema_of(churn_frame)}
    assert schema["signup_date"] is ColumnType.datetime
    assert schema["gender"] is ColumnType.string
    assert schema["tenure_months"] is ColumnType.integer
    assert schema["monthly_charges"] is ColumnType.float


def test_encoding_one_hot_drops_ids_and_dates_unless_kept(churn_frame: pd.DataFrame) -> None:
    encoding = formats.build_encoding(churn_frame, "churn")
    assert encoding.ProblemType is ProblemType.BinaryClassification and encoding.Classes == ("0", "1")
    assert {d.Name: d.Reason for d in encoding.Dropped} == {"customer_id": "identifier", "signup_date": "date"}
    assert "contract=month-to-month" in encoding.feature_names and "gender=male" in encoding.feature_names
    kept = formats.build_encoding(churn_frame, "churn", keep=["signup_date"])
    date = next(f for f in kept.Features if f.Column == "signup_date")
    assert date.Kind is FeatureKind.Date


def test_encoded_payload_matches_training_and_ignores_unknown_categories(churn_frame: pd.DataFrame) -> None:
    encoding = formats.build_encoding(churn_frame, "churn")
    X = formats.encode_features(churn_frame, encoding)
    assert X.shape == (400, len(encoding.Features)) and X.dtype == np.float32
    payload = churn_frame.drop(columns=["churn", "customer_id"]).head(2).copy()
    payload.loc[payload.index[0], "contract"] = "lifetime"  # never seen: every contract=… column is 0
    row = formats.encode_features(payload, encoding)
    contract = [i for i, f in enumerate(encoding.Features) if f.Column == "contract"]
    assert row[0, contract].sum() == 0 and row[1, contract].sum() == 1
    with pytest.raises(ValidationError, match="missing column"):
        formats.encode_features(payload.drop(columns=["tenure_months"]), encoding)


def test_channel_files_read_back_with_the_contract_readers(churn_frame: pd.DataFrame) -> None:
    encoding = formats.build_encoding(churn_frame, "churn")
    labels = formats.encode_labels(None, churn_frame, encoding)
    X = formats.encode_features(churn_frame, encoding)
    from_csv = read_csv(io.BytesIO(formats.csv_bytes(labels, X)), "train", "data.csv")
    from_recordio = read_recordio_protobuf(io.BytesIO(formats.recordio_bytes(labels, X)), "train", "data.recordio")
    for data in (from_csv, from_recordio):
        assert np.allclose(data.X, X, equal_nan=True) and np.array_equal(data.y, labels)


def test_labels_outside_the_declared_classes_name_file_column_and_line(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("age,city,churn\n30,a,0\n40,b,1\n50,c,maybe\n")
    table = formats.read_files([path], [str(path)], DataFormat.csv)
    typed = formats.type_columns(table.frame)
    encoding = formats.build_encoding(typed, "churn", ProblemType.BinaryClassification, ["0", "1"])
    with pytest.raises(ValidationError) as info:
        formats.encode_labels(table, typed, encoding)
    text = str(info.value)
    assert "column churn" in text and f"{path}, line 4" in text and "'maybe'" in text and "0, 1" in text


def test_missing_label_and_non_numeric_regression_label(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("size,price\n10,100.5\n20,\n")
    table = formats.read_files([path], [str(path)], DataFormat.csv)
    encoding = formats.build_encoding(table.frame, "price", ProblemType.Regression)
    with pytest.raises(ValidationError, match=r"line 3: the label is missing"):
        formats.encode_labels(table, table.frame, encoding)


@pytest.mark.parametrize(
    ("content", "name", "claimed", "message"),
    [
        (b"a,b\n1,2\n", "x.parquet", None, "not a Parquet file"),
        (b"PAR1\x00\x00garbagePAR1", "x.csv", None, "is a Parquet file, not CSV"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "x.csv", None, "not a UTF-8 text CSV"),
        (b"", "x.csv", None, "is empty"),
        (b"a,b\n", "x.csv", None, "no rows"),
        (b"justonecolumn\n1\n2\n", "x.csv", None, "several columns"),
        (b"a,b\n1,2\n", "x.txt", None, "cannot tell the format"),
        (b"a,b\n1,2\n", "x.txt", "parquet", "not a Parquet file"),
    ],
)
def test_files_not_of_the_claimed_format_are_refused_by_name(
    tmp_path: Path, content: bytes, name: str, claimed: str | None, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValidationError, match=message) as info:
        formats.read_files([path], [str(path)], formats.format_of(name, claimed))
    assert str(path) in str(info.value) or "format" in str(info.value)


def test_folder_parts_must_share_columns(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x,y\n1,2\n")
    b.write_text("x,z\n1,2\n")
    with pytest.raises(ValidationError, match=r"b.csv: columns differ .*missing \['y'\]"):
        formats.read_files([a, b], [str(a), str(b)], DataFormat.csv)


def test_default_label_follows_the_dataset_name() -> None:
    frame = pd.DataFrame({"x": [1], "Churn": [0]})
    assert formats.default_label(frame, "churn") == "Churn"
    with pytest.raises(ValidationError, match="--label"):
        formats.default_label(frame, "prices")
