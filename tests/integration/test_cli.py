"""The `mlops` command as a user types it."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlops.data.churn_sample import DemoFiles


def mlops(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLOPS_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-m", "mlops.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_train_jobs_describe_logs(tmp_path: Path, churn: DemoFiles) -> None:
    home = tmp_path / "home"
    out = mlops(
        "train",
        "--algorithm",
        "xgboost",
        "--train",
        str(churn.train),
        "--validation",
        str(churn.validation),
        "--hp",
        "objective=binary:logistic",
        "--hp",
        "num_round=30",
        "--hp",
        "max_depth=3",
        "--hp",
        "eta=0.2",
        "--job-name",
        "cli-job",
        home=home,
    ).stdout
    assert "training job cli-job on the local runtime" in out
    for status in ("Starting", "Training", "Uploading", "Completed"):
        assert status in out
    assert "validation:auc=" in out
    assert f"model artifact: {home}/artifacts/cli-job/output/model.tar.gz" in out

    listing = mlops("jobs", home=home).stdout
    assert "cli-job" in listing and "Completed" in listing and "validation:auc=" in listing

    record = json.loads(mlops("jobs", "describe", "cli-job", home=home).stdout)
    for key in (
        "TrainingJobName",
        "TrainingJobStatus",
        "SecondaryStatus",
        "FailureReason",
        "FinalMetricDataList",
        "ModelArtifacts",
        "HyperParameters",
        "InputDataConfig",
        "TrainingStartTime",
        "TrainingEndTime",
        "SecondaryStatusTransitions",
        "CreationTime",
    ):
        assert key in record
    assert record["ModelArtifacts"]["S3ModelArtifacts"].endswith("cli-job/output/model.tar.gz")
    assert record["HyperParameters"]["num_round"] == "30"

    assert "#metric validation:auc=" in mlops("logs", "cli-job", home=home).stdout

    evaluation = mlops("evaluate", "cli-job", "--test", str(churn.test), home=home).stdout
    assert "auc" in evaluation and "(binary)" in evaluation


def test_bad_input_gives_one_clear_line(tmp_path: Path, churn: DemoFiles) -> None:
    home = tmp_path / "home"
    result = mlops(
        "train",
        "--algorithm",
        "xgboost",
        "--train",
        str(churn.train),
        "--hp",
        "num_round=10",
        "--hp",
        "eta=2",
        home=home,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: hyperparameter eta: 2 is out of range; valid: a number in [0, 1]"
    result = mlops("jobs", "describe", "nope", home=home, check=False)
    assert result.returncode == 2 and "training job 'nope' not found" in result.stderr
    result = mlops("train", "--algorithm", "nope", "--train", str(churn.train), home=home, check=False)
    assert result.returncode == 2 and "Known algorithms:" in result.stderr


def test_tracking_setting_off_and_the_track_flag_over_it(
    tmp_path: Path, churn: DemoFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLOPS_TRACKING=false: no MLflow run and no store; `--track` on the command line tracks all the same."""
    home = tmp_path / "home"
    monkeypatch.setenv("MLOPS_TRACKING", "false")
    train = ("train", "--algorithm", "xgboost", "--train", str(churn.train), "--hp", "num_round=2")
    out = mlops(*train, "--job-name", "untracked", home=home).stdout
    assert "Completed" in out and "tracked as" not in out
    assert not (home / "mlflow.db").exists()
    out = mlops(*train, "--job-name", "tracked", "--track", home=home).stdout
    assert "Completed" in out and "tracked as MLflow run" in out
    assert (home / "mlflow.db").exists()


def test_help_teaches(tmp_path: Path) -> None:
    top = mlops("--help", home=tmp_path).stdout
    assert "examples:" in top and "mlops train --algorithm xgboost" in top
    train = mlops("train", "--help", home=tmp_path).stdout
    assert "--hp NAME=VALUE" in train and "mlops algorithms describe NAME" in train
    described = mlops("algorithms", "describe", "xgboost", home=tmp_path).stdout
    assert "num_round" in described and "(required)" in described and "validation:auc (Maximize)" in described


def test_tune_shows_progress_and_ends_with_the_best_job(tmp_path: Path, churn: DemoFiles) -> None:
    from tests.conftest import FIXTURE_ALGORITHMS

    home = tmp_path / "home"
    env_args = ("--algorithm", "curve", "--train", str(churn.train))  # curve reads no data; any real split will do
    os.environ["MLOPS_ALGORITHMS_DIR"] = str(FIXTURE_ALGORITHMS)
    try:
        out = mlops("tune", *env_args, "--objective", "validation:score", "--strategy", "random",
                    "--range", "quality=0.5:5", "--static", "steps=3", "--static", "pace=0",
                    "--max-jobs", "3", "--max-parallel", "2", "--name", "cli-tune", home=home).stdout
        assert "tuning job cli-tune: Random search of validation:score (Maximize), up to 3 jobs, 2 in parallel" in out
        assert "3/3 done (3 completed, 0 stopped, 0 failed), 0 running  best validation:score=" in out
        assert "best training job: cli-tune-" in out and "hyperparameters: quality=" in out
        assert "convergence plot: " in out and out.strip().endswith("convergence.png")
        record = json.loads(mlops("tuning-jobs", "describe", "cli-tune", home=home).stdout)
        for key in ("HyperParameterTuningJobStatus", "BestTrainingJob", "TrainingJobStatusCounters",
                    "ObjectiveStatusCounters", "HyperParameterTuningJobConfig", "TrainingJobDefinition"):
            assert key in record
        assert record["TrainingJobStatusCounters"]["Completed"] == 3
        assert "cli-tune" in mlops("tuning-jobs", home=home).stdout
        bad = mlops("tune", *env_args, "--objective", "validation:score", "--range", "quality=5:1", "--max-jobs", "3",
                    home=home, check=False)
        assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "quality" in bad.stderr
    finally:
        del os.environ["MLOPS_ALGORITHMS_DIR"]


# --- a newcomer's mistakes: one clear line each ---------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, churn: DemoFiles) -> Iterator[Path]:
    """A home with a Completed xgboost job and a Completed linear-learner job (its ~15 validation metrics),
    trained at once through the training service, as `mlops train` does."""
    from mlops.algorithms.catalog import AlgorithmCatalog
    from mlops.services.runtimes import training_runtime
    from mlops.services.training import TrainingInput, start_training
    from mlops.settings import Settings

    home = tmp_path_factory.mktemp("trained") / "home"
    settings = Settings(home=home, stop_grace_seconds=5)
    runtime = training_runtime(settings)
    catalog = AlgorithmCatalog(settings.algorithms_dir)
    channels = {"train": str(churn.train), "validation": str(churn.validation)}
    jobs = {
        "xgb": TrainingInput("xgboost", channels, {"objective": "binary:logistic", "num_round": "10"}, job_name="xgb"),
        "ll": TrainingInput(
            "linear-learner", channels, {"predictor_type": "binary_classifier", "epochs": "2"}, job_name="ll"
        ),
    }
    for inp in jobs.values():
        start_training(runtime, catalog, inp, settings.artifacts)
    for name in jobs:
        job = runtime.wait(name)
        assert job.TrainingJobStatus.value == "Completed", job.FailureReason
    yield home


def one_error_line(stderr: str) -> str:
    """The whole of stderr, which must be one `error:` line and no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.fixture
def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """`mlops ARGS` in this process (it starts in seconds, not a new interpreter each time): (exit, out, err)."""
    from mlops.cli import main

    def call(*args: str, home: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        monkeypatch.setenv("MLOPS_HOME", str(home))
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse refusing the command line
            code = int(e.code or 0)
        finally:
            for key in env or {}:
                monkeypatch.delenv(key)
        out = capsys.readouterr()
        return code, out.out, out.err

    return call


Run = Callable[..., tuple[int, str, str]]


def test_train_refuses_a_csv_with_a_header_before_any_job_starts(tmp_path: Path, churn: DemoFiles, run: Run) -> None:
    home = tmp_path / "home"
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.csv").write_text(churn.table.read_text())  # the first file a folder channel reads
    (folder / "b.csv").write_text(churn.train.read_text())
    for location in (str(churn.table), f"file://{churn.table}", str(folder)):
        code, out, err = run("train", "--algorithm", "xgboost", "--train", location, "--hp", "num_round=5", home=home)
        assert code == 2, out + err
        line = one_error_line(err)
        assert line.startswith("error: channel train: ") and "line 1 looks like a header (customer_id," in line
        assert "headerless, label first" in line
        assert "`mlops data ingest" in line and "`mlops data split" in line
    assert "no training jobs yet" in run("jobs", home=home)[1]


def test_evaluate_refuses_a_header_and_passes_on_the_servers_message(
    tmp_path: Path, churn: DemoFiles, trained: Path, run: Run
) -> None:
    code, _, err = run("evaluate", "xgb", "--test", str(churn.table), home=trained)
    assert code == 2
    line = one_error_line(err)
    assert line.startswith(f"error: test: {churn.table} line 1 looks like a header (customer_id,signup_date,gender,…)")
    assert "the contract's CSV is headerless, label first; make one with `mlops data split`" in line

    broken = tmp_path / "broken.csv"
    rows = churn.test.read_text().splitlines()
    rows[2] = rows[2].replace(",", ",x", 1)
    broken.write_text("\n".join(rows) + "\n")
    code, _, err = run("evaluate", "xgb", "--test", str(broken), home=trained)
    assert code == 2
    assert one_error_line(err).startswith(f"error: test: {broken} line 3: field 2 is not a number: 'x")

    narrow = tmp_path / "narrow.csv"  # the label and 9 of the 22 features: the model server refuses the rows
    narrow.write_text("".join(",".join(row.split(",")[:10]) + "\n" for row in churn.test.read_text().splitlines()))
    code, _, err = run("evaluate", "xgb", "--test", str(narrow), home=trained)
    assert code == 2
    line = one_error_line(err)
    assert "the model server refused rows 1-" in line and "HTTP 400: each row needs 22 features; got 9" in line


def test_key_value_options_without_equals_say_so_at_once(tmp_path: Path, churn: DemoFiles, run: Run) -> None:
    train = ("train", "--algorithm", "xgboost", "--train", str(churn.train))
    tune = ("tune", "--algorithm", "xgboost", "--train", str(churn.train), "--objective", "validation:auc")
    for args, flag, got, example in (
        ((*train, "--hp", "num_round", "10"), "--hp", "num_round", "--hp num_round=10"),
        ((*train, "--hp", "num_round=10", "--env", "OMP_NUM_THREADS"), "--env", "OMP_NUM_THREADS", "--env "),
        ((*train, "--channel", "test"), "--channel", "test", "--channel test=data/test.csv"),
        ((*train, "--image", "x", "--metric", "loss"), "--metric", "loss", "--metric "),
        ((*tune, "--static", "eta", "1"), "--static", "eta", "--static num_round=100"),
        ((*tune, "--range", "eta"), "--range", "eta", "--range eta=0.01:0.5:log"),
    ):
        code, _, err = run(*args, home=tmp_path)
        assert code == 2
        last = err.strip().splitlines()[-1]
        assert last.startswith(f"mlops {args[0]}: error: argument {flag}: takes NAME="), last
        assert f"(got {got!r}); e.g. {example}" in last, last
        assert "usage: mlops [-h]" not in err  # not the top-level usage
    code, _, err = run(*train, "--hp", "eta=0.1", "--hp", "eta=0.2", home=tmp_path)
    assert code == 2 and one_error_line(err) == "error: --hp eta: given twice ('0.1' and '0.2'); keep one"


def test_an_unexpected_error_is_one_line_and_its_traceback_only_with_debug(tmp_path: Path, run: Run) -> None:
    (tmp_path / "a-file").write_text("")
    out = tmp_path / "a-file" / "data"  # a folder inside a file cannot be made: an OSError, not a refusal
    code, _, err = run("sample-data", "--out", str(out), "--rows", "100", home=tmp_path)
    assert code == 1
    assert one_error_line(err) == f"error: {out}: Not a directory (run with --debug for the traceback)"

    for before, after, env in ((("--debug",), (), {}), ((), ("--debug",), {}), ((), (), {"MLOPS_DEBUG": "1"})):
        code, _, err = run(*before, "sample-data", "--out", str(out), "--rows", "100", *after, home=tmp_path, env=env)
        assert code == 1
        assert err.startswith("Traceback (most recent call last):") and "NotADirectoryError" in err

    code, _, err = run("--debug", "jobs", "describe", "nope", home=tmp_path)  # a refusal keeps its exit 2
    assert code == 2 and "Traceback" in err
    assert err.strip().splitlines()[-1] == "error: training job 'nope' not found. List jobs with `mlops jobs`."
    code, _, err = run("logs", "nope", home=tmp_path)  # an unknown job is not an empty log
    assert code == 2 and "training job 'nope' not found" in one_error_line(err)


def test_listings_have_a_header_row_and_fit_120_columns(trained: Path, run: Run) -> None:
    listing = run("jobs", home=trained, env={"COLUMNS": "200"})[1].splitlines()
    assert listing[0].split() == ["NAME", "STATUS", "RUNTIME", "DURATION", "METRICS"]
    assert all(len(line) <= 120 for line in listing), "\n".join(listing)
    ll = next(line for line in listing if line.startswith("ll "))
    assert "validation:" in ll and ll.endswith("…")  # the first of its ~15 validation metrics, then …
    assert listing[-1] == "(… more metrics: `mlops jobs describe NAME` has them all)"
    described = json.loads(run("jobs", "describe", "ll", home=trained)[1])
    assert len([m for m in described["FinalMetricDataList"] if m["MetricName"].startswith("validation:")]) > 3

    narrow = run("jobs", home=trained, env={"COLUMNS": "80"})[1].splitlines()
    assert all(len(line) <= 80 for line in narrow) and narrow[0].startswith("NAME")
    assert any(line.startswith("xgb ") for line in narrow)  # names are never cut

    algorithms = run("algorithms", home=trained, env={"COLUMNS": "200"})[1].splitlines()
    assert algorithms[0].split() == ["NAME", "VERSION", "DESCRIPTION"]
    assert all(len(line) <= 120 for line in algorithms) and any(a.startswith("xgboost ") for a in algorithms)


def test_algorithms_describe_lists_what_the_server_answers(tmp_path: Path, run: Run) -> None:
    described = run("algorithms", "describe", "linear-learner", home=tmp_path)[1]
    answers = described[described.index("answers ") :]
    assert "without one: application/json" in answers.splitlines()[0]
    csv = answers[answers.index("  text/csv") : answers.index("  application/json")]
    assert "predicted_label" in csv and "NOT its score" in csv and "e.g. 0\\n1\\n" in csv
    assert '{"predictions": [{"score": 0.1645, "predicted_label": 0}' in answers
    xgboost = run("algorithms", "describe", "xgboost", home=tmp_path)[1]
    assert "without one: text/csv" in xgboost and "one line per row: the score" in xgboost
    assert "its model.tar.gz holds: xgboost-model" in xgboost
    assert "its model.tar.gz holds: model.json, model.npz" in described
    code, _, err = run("algorithms", "describe", home=tmp_path)
    assert code == 2 and "name the algorithm to describe" in one_error_line(err)


COMMANDS_WITH_HELP = (
    "train", "jobs", "logs", "evaluate", "algorithms", "sample-data", "demo", "tune", "tuning-jobs", "images",
    "data ingest", "data list", "data versions", "data describe", "data split", "data splits", "data baseline",
    "data validate", "registry register", "registry approve", "registry reject", "registry alias", "registry list",
    "registry describe", "registry evaluate", "invoke", "router", "monitor baseline", "monitor schedule",
    "monitor schedules", "monitor run", "monitor runs", "ground-truth upload",
)


@pytest.mark.parametrize("command", COMMANDS_WITH_HELP)
def test_each_command_has_a_description_and_an_example(command: str) -> None:
    from mlops.cli import build_parser

    parser = build_parser()
    for word in command.split():  # walk down to the subcommand's own parser
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[word]
    text = parser.format_help()
    assert parser.description and len(parser.description) > 40, command
    assert "example" in (parser.epilog or "") and f"mlops {command}" in (parser.epilog or ""), command
    assert "--debug" in text
