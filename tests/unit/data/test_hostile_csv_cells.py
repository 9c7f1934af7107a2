"""CSV cells that crash pandas' number parser (``1e2147483648``: SIGSEGV in pandas 2.3, in read_csv with
either engine and in to_numeric) reach none of the package's CSV readers unguarded: the source reader
(mlops.data.formats), the monitors' capture window (mlops.monitoring.window) and the evaluation's test
reader (mlops.services.evaluation; the window's tests are in tests/unit/monitoring) ask the contract's one guard, ``csv_format.pandas_can_parse``, first.
Each reads in a child process, so that a crash fails its test instead of ending the run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HOSTILE = "1e2147483648"


def run(code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    return done.stdout


def test_the_source_reader_types_a_table_with_a_hostile_cell(tmp_path: Path) -> None:
    source = tmp_path / "source.csv"
    source.write_text(f"id,amount,name,label\n1,{HOSTILE},a,0\n2,2.5,b{HOSTILE},1\n3,-1e-2147483649,c,0\n")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mlops.core.datasets import DataFormat\n"
        "from mlops.data.formats import _read_one\n"
        "frame = _read_one(Path(sys.argv[1]), 'source.csv', DataFormat.csv)\n"
        "print({c: str(t) for c, t in frame.dtypes.items()}, frame['amount'].tolist(), frame['name'].tolist())\n"
    )
    out = run(code, str(source))
    assert out.strip() == (
        "{'id': 'int64', 'amount': 'float64', 'name': 'object', 'label': 'int64'} "
        f"[inf, 2.5, -0.0] ['a', 'b{HOSTILE}', 'c']"
    )


def test_the_evaluation_reads_a_hostile_test_file(tmp_path: Path) -> None:
    test_csv = tmp_path / "test.csv"
    test_csv.write_text(f"1,{HOSTILE},2\n0,3,4\n")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mlops.services.evaluation import read_test_csv\n"
        "print(read_test_csv(Path(sys.argv[1])).tolist())\n"
    )
    assert json.loads(run(code, str(test_csv)).replace("inf", '"inf"')) == [[1.0, "inf", 2.0], [0.0, 3.0, 4.0]]
