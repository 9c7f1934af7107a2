"""The data-quality gate on great-expectations: a suite suggested from a reference version, validation
reports (typed result + a self-contained HTML page), `mlops data validate` exit codes, and `require_valid` refusing a bad
version by naming the failed expectations."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from mlops.cli import main
from mlops.core.datasets import DataQualityError, DatasetVersion
from mlops.core.errors import ConflictError, ValidationError
from mlops.data.churn_sample import DemoFiles
from mlops.data.dataset_store import DatasetStore
from mlops.services import datasets as ds

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Versions:
    home: Path
    store: DatasetStore
    good: DatasetVersion
    drifted: DatasetVersion
    reshaped: DatasetVersion


@pytest.fixture(scope="module")
def versions(churn: DemoFiles, tmp_path_factory: pytest.TempPathFactory) -> Versions:
    home = tmp_path_factory.mktemp("quality") / "home"
    store = DatasetStore(home / "datasets")
    good = ds.ingest(store, "churn", str(churn.table)).version
    frame = pd.read_csv(churn.table)
    drifted = frame.copy()
    drifted.loc[[3, 10, 42], "monthly_charges"] = [999.0, 1500.0, -5.0]
    drifted.loc[[7, 8], "contract"] = "weekly"
    drifted.loc[100, "customer_id"] = drifted.loc[99, "customer_id"]
    drifted.loc[list(range(200, 800)), "payment_method"] = None  # 20% missing where none were
    folder = home.parent
    drifted.to_csv(folder / "drifted.csv", index=False)
    reshaped = frame.drop(columns=["avg_monthly_gb"])
    reshaped["tenure_months"] = reshaped["tenure_months"].map(lambda m: f"{m} months")
    reshaped.to_csv(folder / "reshaped.csv", index=False)
    v2 = ds.ingest(store, "churn", str(folder / "drifted.csv")).version
    v3 = ds.ingest(store, "churn", str(folder / "reshaped.csv")).version
    ds.baseline(store, "churn", "1")
    return Versions(home, store, good, v2, v3)


def _cli(versions: Versions, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
         *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("MLOPS_HOME", str(versions.home))
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_suggested_suite_covers_types_nulls_ranges_domains_rows_and_keys(versions: Versions) -> None:
    suite = json.loads(versions.store.suite_path("churn").read_text())
    kinds = {(e["type"], e["kwargs"].get("column")) for e in suite["expectations"]}
    assert ("expect_table_columns_to_match_ordered_list", None) in kinds
    assert ("expect_table_row_count_to_be_between", None) in kinds
    assert ("expect_column_values_to_be_in_type_list", "tenure_months") in kinds
    assert ("expect_column_values_to_not_be_null", "monthly_charges") in kinds
    assert ("expect_column_values_to_be_between", "monthly_charges") in kinds
    assert ("expect_column_values_to_be_in_set", "contract") in kinds
    assert ("expect_column_values_to_be_in_set", "churn") in kinds  # the declared classes
    assert ("expect_column_values_to_be_unique", "customer_id") in kinds
    ranges = {e["kwargs"]["column"]: e["kwargs"] for e in suite["expectations"]
              if e["type"] == "expect_column_values_to_be_between"}
    assert ranges["tenure_months"]["min_value"] == 0  # non-negative columns stay non-negative
    assert suite["meta"]["mlops"]["reference_version"] == versions.good.Version
    with pytest.raises(ConflictError, match="--force"):
        ds.baseline(versions.store, "churn", "1")


def test_reference_version_passes_and_the_cli_exits_zero(
    versions: Versions, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = _cli(versions, capsys, monkeypatch, "data", "validate", "churn", "--version", "1")
    assert code == 0 and out.startswith("PASSED churn version 1")
    result = versions.store.validations(versions.good)[-1]
    assert result.Success and result.EvaluatedExpectations == result.SuccessfulExpectations > 40
    assert Path(result.ReportUri or "").read_text().count("Great Expectations") > 0
    assert ds.require_valid(versions.store, "churn", "1") == result  # the stored result is reused


def test_drifted_version_fails_with_the_expectations_and_sample_rows(
    versions: Versions, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = versions.drifted.Version[:10]
    code, out, _ = _cli(versions, capsys, monkeypatch, "data", "validate", "churn", "--version", prefix)
    assert code == 1 and out.startswith("FAILED churn version 2")
    assert "monthly_charges between" in out and "999.0, 1500.0, -5.0 at rows 3, 10, 42" in out
    assert "contract in {month-to-month, one-year, two-year}" in out and "weekly" in out
    assert "customer_id unique" in out and "payment_method not null" in out
    result = versions.store.validations(versions.drifted)[-1]
    failed = {(o.ExpectationType, o.Column): o for o in result.failed}
    assert set(failed) == {
        ("expect_column_values_to_be_between", "monthly_charges"),
        ("expect_column_values_to_be_in_set", "contract"),
        ("expect_column_values_to_be_unique", "customer_id"),
        ("expect_column_values_to_not_be_null", "payment_method"),
    }
    contract = failed[("expect_column_values_to_be_in_set", "contract")]
    assert contract.UnexpectedRows == (7, 8) and contract.UnexpectedValues == ("weekly", "weekly")
    html = Path(result.ReportUri or "").read_text()
    assert "FAILED: churn version 2" in html and "weekly" in html and "999.0" in html
    stored = json.loads(Path(result.ResultUri or "").read_text())
    assert stored["Success"] is False and stored["DatasetVersion"] == versions.drifted.Version
    # one self-contained page: readable offline, nothing fetched from the web, no newsletter banner
    assert not re.search(r"https?://|<script|<link|<img|src=", html, re.IGNORECASE)
    assert "newsletter" not in html.lower()
    assert f"Failed expectations ({len(result.failed)})" in html
    assert f"Passed expectations ({result.SuccessfulExpectations})" in html

    with pytest.raises(DataQualityError) as info:
        ds.require_valid(versions.store, "churn", "2")
    message = str(info.value)
    assert "data quality gate failed" in message and "expect_column_values_to_be_in_set(contract)" in message
    assert "expect_column_values_to_be_unique(customer_id)" in message and "report.html" in message


def test_a_schema_change_since_the_baseline_names_the_columns(
    versions: Versions, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = _cli(versions, capsys, monkeypatch, "data", "validate", "churn", "--version", "v3")
    assert code == 1
    assert "schema changed since the baseline: column avg_monthly_gb is missing" in out
    assert "column tenure_months changed type integer -> string" in out
    result = versions.store.validations(versions.reshaped)[-1]
    assert not result.Success and len(result.SchemaChanges) == 2
    missing = [o for o in result.failed if o.Column == "avg_monthly_gb"]
    assert missing and all(o.Error or not o.Success for o in missing)


def test_hand_edited_suite_is_used_and_checked(
    versions: Versions, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = json.loads(versions.store.suite_path("churn").read_text())
    for e in suite["expectations"]:
        if e["type"] == "expect_column_values_to_be_between" and e["kwargs"]["column"] == "monthly_charges":
            e["kwargs"]["max_value"] = 50.0  # far tighter than the data
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(suite))
    code, out, _ = _cli(versions, capsys, monkeypatch, "data", "validate", "churn", "--version", "1",
                        "--suite", str(edited))
    assert code == 1 and "monthly_charges between 0.0 and 50.0" in out

    suite["expectations"][3] = {"type": "expect_column_values_to_be_between", "kwargs": {"min_value": "low"}}
    edited.write_text(json.dumps(suite))
    with pytest.raises(ValidationError, match=r"edited.json: expectation 4 \(expect_column_values_to_be_between\)"):
        ds.validate(versions.store, "churn", "1", edited)
    edited.write_text("{\n  not json")
    code, out, err = _cli(versions, capsys, monkeypatch, "data", "validate", "churn", "--suite", str(edited))
    assert code == 2 and "edited.json: not valid JSON: line 2" in err
