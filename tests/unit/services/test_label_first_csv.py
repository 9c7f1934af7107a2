"""The first-line check of the contract's CSV: a header (or words) on line 1 is named, numbers pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.core.errors import ValidationError
from mlops.services.label_first_csv import first_channel_file, first_line_problem, refuse_unless_label_first


@pytest.mark.parametrize(
    ("first", "problem"),
    [
        ("0,1.5,,3e-2,nan,-4\n", None),
        ("\ufeff1,2,3\r\n", None),
        ("\n", None),
        ("churn,age,plan\n", "line 1 looks like a header (churn,age,plan)"),
        ("customer_id,signup_date,gender,senior_citizen\n", "line 1 looks like a header (customer_id,signup_date,gender,…)"),
        ('"label","f1"\n', "line 1 looks like a header (label,f1)"),
        ("0,NY,3\n", "line 1 has words where numbers belong (field 2: 'NY')"),
    ],
)
def test_the_first_line(tmp_path: Path, first: str, problem: str | None) -> None:
    path = tmp_path / "t.csv"
    path.write_text(first + "1,2,3\n")
    found = first_line_problem(path)
    assert found == (None if problem is None else f"{path} {problem}")


def test_only_the_first_line_is_read(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"1,2,3\n" + b"\xff\xfe not text, not numbers\n" * 10)
    assert first_line_problem(path) is None


def test_a_refusal_names_the_field_the_file_and_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("label,f1\n1,2\n")
    with pytest.raises(ValidationError) as info:
        refuse_unless_label_first(path, "channel train", "use `mlops data split`")
    assert info.value.field == "channel train"
    assert info.value.message == (
        f"{path} line 1 looks like a header (label,f1): the contract's CSV is headerless, label first; "
        "use `mlops data split`"
    )


def test_the_first_file_of_a_folder_is_the_one_a_channel_reads_first(tmp_path: Path) -> None:
    folder = tmp_path / "channel"
    (folder / "b").mkdir(parents=True)
    (folder / ".hidden").write_text("x")
    (folder / "c.csv").write_text("1\n")
    (folder / "b" / "part-0.csv").write_text("1\n")
    assert first_channel_file(folder) == folder / "b" / "part-0.csv"
    assert first_channel_file(folder / "c.csv") == folder / "c.csv"
    assert first_channel_file(tmp_path / "missing") is None
    (tmp_path / "empty").mkdir()
    assert first_channel_file(tmp_path / "empty") is None
