"""The everyday paths load no heavy library they do not use (issue 14: `mlops --help`, `mlops jobs` and
`mlops train` start in a fraction of a second, not in the seconds MLflow's import alone takes).

Each case runs in a fresh interpreter and lists the heavy top-level packages it ended up with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Loaded only where used: tracking (mlflow), the linear learner (torch), monitoring reports (evidently),
# quality suites (great_expectations), data work and algorithms (pandas, numpy, scipy, sklearn, xgboost).
HEAVY = ("mlflow", "torch", "evidently", "great_expectations", "pandas", "numpy", "scipy", "sklearn", "xgboost")

REPORT = """
import json, sys
heavy = {heavy!r}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set(heavy))))
"""


def loaded(code: str, tmp_path: Path, also: tuple[str, ...] = ()) -> list[str]:
    """The heavy packages in ``sys.modules`` after running ``code`` in a new interpreter."""
    script = code + REPORT.format(heavy=HEAVY + also)
    env = {**os.environ, "MLOPS_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_help_builds_the_parser_without_settings_or_heavy_libraries(tmp_path: Path) -> None:
    code = """
import contextlib, io
from mlops.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(["--help"])
"""
    assert loaded(code, tmp_path, also=("pydantic_settings",)) == []


def test_jobs_lists_without_heavy_libraries(tmp_path: Path) -> None:
    code = """
import contextlib, io
from mlops.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    assert main(["jobs"]) == 0
"""
    assert loaded(code, tmp_path) == []


def test_train_builds_its_request_without_heavy_libraries(tmp_path: Path) -> None:
    """`mlops train` up to the request (refused here for a missing file, before any job starts): MLflow
    is imported only to track the finished job, the algorithm's libraries only in its own process."""
    code = """
import contextlib, io
from mlops.cli import main
with contextlib.redirect_stderr(io.StringIO()) as err:
    assert main(["train", "--algorithm", "xgboost", "--train", "missing.csv", "--hp", "num_round=1"]) == 2
assert "missing.csv does not exist" in err.getvalue(), err.getvalue()
import mlops.services.tracking, mlops.services.training, mlops.runtime.local_process
"""
    assert loaded(code, tmp_path) == []


@pytest.mark.parametrize("runtime", ["local", "docker"])
def test_the_supervisor_starts_without_heavy_libraries(tmp_path: Path, runtime: str) -> None:
    code = f"""
import mlops.runtime.supervisor
from mlops.runtime.table import load_object, runtime_entry
executor = runtime_entry({runtime!r}).executor
assert executor is not None
load_object(executor)
"""
    assert loaded(code, tmp_path) == []


def test_train_without_tracking_never_imports_mlflow(tmp_path: Path) -> None:
    """A real, tiny `mlops train --no-track`: the job completes, no run is reported, no MLflow store is
    made and the CLI's process never loaded MLflow (the algorithm's libraries load in the job's process)."""
    from mlops.data.churn_sample import write_demo_files

    files = write_demo_files(tmp_path / "data", rows=200, seed=7)
    args = ["train", "--algorithm", "xgboost", "--train", str(files.train), "--validation", str(files.validation)]
    args += ["--hp", "objective=binary:logistic", "--hp", "num_round=2", "--no-track"]
    code = f"""
import contextlib, io, pathlib
from mlops.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    assert main({args!r}) == 0, out.getvalue()
assert "Completed" in out.getvalue() and "model artifact:" in out.getvalue(), out.getvalue()
assert "tracked as" not in out.getvalue(), out.getvalue()
assert not pathlib.Path("home/mlflow.db").exists()
"""
    assert loaded(code, tmp_path) == []
