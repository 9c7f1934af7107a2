"""The monitors' capture window on CSV cells that crash pandas' number parser (``1e2147483648``): read
through the contract's guard (``csv_format.pandas_can_parse``), in a child process so that a crash fails
the test instead of ending the run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from mlops.data.formats import encode_features
from mlops.monitoring.baseline import Baseline

HOSTILE = "1e2147483648"


def run(code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    return done.stdout


def test_the_capture_window_reads_hostile_cells_as_the_model_does(
    tmp_path: Path, baseline: Baseline, held_out: pd.DataFrame, encoding
) -> None:  # type: ignore[no-untyped-def]
    from tests.unit.monitoring.test_monitoring_capture import END, START, csv_row, record, write

    encoded = encode_features(held_out.iloc[:3], encoding)
    rows = [csv_row(r) for r in encoded]
    hostile = rows[1].split(",")
    hostile[list(encoding.feature_names).index("tenure_months")] = HOSTILE
    lines = [record("r0", rows[0], None), record("r1", ",".join(hostile), None), record("r2", rows[2], None)]
    write(tmp_path / "capture", lines)
    (tmp_path / "baseline.json").write_text(baseline.manifest.model_dump_json())
    code = (
        "import sys\n"
        "from datetime import datetime\n"
        "from mlops.core.monitoring import MonitoringBaseline\n"
        "from mlops.monitoring.window import load_capture_window\n"
        "manifest = MonitoringBaseline.model_validate_json(open(sys.argv[2]).read())\n"
        "start, end = datetime.fromisoformat(sys.argv[3]), datetime.fromisoformat(sys.argv[4])\n"
        "window = load_capture_window(sys.argv[1], 'churn', start, end, manifest)\n"
        "print(window.rows, window.capture.UndecodableRecords, window.features['tenure_months'].tolist())\n"
    )
    out = run(code, str(tmp_path / "capture"), str(tmp_path / "baseline.json"), START.isoformat(), END.isoformat())
    count, undecodable, first = out.split(" ", 2)
    assert (count, undecodable) == ("3", "0"), out
    assert first.strip() == str(
        [float(held_out["tenure_months"].iloc[0]), float("inf"), float(held_out["tenure_months"].iloc[2])]
    )


def test_the_capture_window_defuses_hostile_raw_cells(tmp_path: Path) -> None:
    code = (
        "import json\n"
        "from mlops.core.hosting import CapturedPayload\n"
        "from mlops.monitoring.window import _raw_rows\n"
        "import pandas as pd\n"
        f"csv = CapturedPayload(observedContentType='text/csv', mode='INPUT', data='{HOSTILE},x{HOSTILE},2', encoding='CSV')\n"
        f"doc = json.dumps({{'instances': [['{HOSTILE}', 1e999, 3]]}})\n"
        "js = CapturedPayload(observedContentType='application/json', mode='INPUT', data=doc, encoding='JSON')\n"
        "rows = _raw_rows(csv) + _raw_rows(js)\n"
        "print(rows, [pd.to_numeric(pd.Series(r), errors='coerce').tolist() for r in rows])\n"
    )
    assert run(code).strip() == "[['inf', '', '2'], ['inf', 'inf', '3']] [[inf, nan, 2.0], [inf, inf, 3.0]]"
