"""Monitoring end to end, as a user runs it: `mlops monitor baseline` from a CSV and a model.tar.gz,
`mlops monitor schedule`, traffic captured by the serving capture writer (SageMaker's format), labels
uploaded with `mlops ground-truth upload`, `mlops monitor run` → violations, evidently's report, an
alert to a real HTTP receiver on 127.0.0.1 and a retraining decision; a clean window resolves the alert."""

from __future__ import annotations

import io
import json
import tarfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from mlops.cli import main
from mlops.contract.payloads import encode_predictions
from mlops.core.hosting import CaptureContentTypeHeader, DataCaptureConfig
from mlops.data.churn_sample import generate
from mlops.data.formats import build_encoding, encode_features, encode_labels
from mlops.serving.capture import CaptureEvent, CaptureSettings
from mlops.serving.capture_writer import CaptureWriter

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver() -> Iterator[list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    received.append({"url": f"http://127.0.0.1:{server.server_address[1]}/alerts"})
    yield received
    server.shutdown()
    server.server_close()


def capture(dest: Path, rows: pd.DataFrame, encoding, booster: xgb.Booster, start: datetime, prefix: str) -> list[str]:  # type: ignore[no-untyped-def]
    settings = CaptureSettings.from_config(
        DataCaptureConfig(
            DestinationS3Uri=str(dest),
            CaptureContentTypeHeader=CaptureContentTypeHeader(
                CsvContentTypes=("text/csv",), JsonContentTypes=("application/json",)
            ),
        )
    )
    assert settings is not None
    X = encode_features(rows, encoding)
    scores = booster.inplace_predict(X)
    writer = CaptureWriter(dest / ".spool")
    ids = []
    for i in range(len(X)):
        body = (",".join(f"{v:g}" for v in X[i]) + "\n").encode()
        answer, kind = encode_predictions([{"score": float(scores[i])}], "application/json")
        ids.append(f"{prefix}-{i}")
        writer.submit(
            CaptureEvent(
                settings,
                "churn-endpoint",
                "AllTraffic",
                "cfg",
                start.timestamp() + i * 0.5,
                f"ev-{prefix}-{i}",
                body,
                "text/csv",
                answer,
                kind,
                200,
                800,
                50,
                inference_id=ids[-1],
            )
        )
    writer.close()
    return ids


def test_monitoring_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("MLOPS_HOME", str(home))
    monkeypatch.setenv("ONCALL_WEBHOOK_URL", receiver.pop(0)["url"])
    data = generate(3600, seed=21)
    training, live = data.iloc[:3000], data.iloc[3000:].reset_index(drop=True)
    training.to_csv(tmp_path / "churn.csv", index=False)
    encoding = build_encoding(training, "churn")
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
        xgb.DMatrix(encode_features(training, encoding), label=encode_labels(None, training, encoding)),
        30,
    )
    raw_model = booster.save_raw("ubj")
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("xgboost-model")
        info.size = len(raw_model)
        tar.addfile(info, io.BytesIO(bytes(raw_model)))
    home.mkdir()
    (home / "alerting.yaml").write_text("targets:\n  oncall:\n    - {type: webhook, url_env: ONCALL_WEBHOOK_URL}\n")

    assert (
        main(
            [
                "monitor",
                "baseline",
                str(tmp_path / "churn.csv"),
                "--name",
                "churn",
                "--model",
                str(tmp_path / "model.tar.gz"),
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    assert "baseline churn from" in out.out
    assert "warning: rows: every row of" in out.err and "the model's training job is unknown here" in out.err
    assert (
        main(
            [
                "monitor",
                "schedule",
                "churn-endpoint",
                "--every",
                "1h",
                "--monitors",
                "data-quality,data-drift,model-quality,bias,attribution",
                "--facet",
                "gender",
                "--label",
                "churn",
                "--ground-truth",
                str(tmp_path / "labels"),
                "--alert",
                "oncall",
                "--retrain",
                "data-drift",
                "--capture",
                str(tmp_path / "capture"),
                "--model",
                str(tmp_path / "model.tar.gz"),
            ]
        )
        == 0
    )
    assert (home / "monitoring" / "baselines" / "churn" / "bias" / "gender.json").is_file()
    assert main(["monitor", "schedule", "other", "--facet", "sex", "--baseline", "churn"]) == 2
    assert "no column 'sex' in baseline 'churn'" in capsys.readouterr().err

    now = datetime.now(UTC)
    drifted = live.iloc[:300].copy()
    drifted["monthly_charges"] += 30
    ids = capture(tmp_path / "capture", drifted, encoding, booster, now - timedelta(minutes=50), "d")
    clean_ids = capture(tmp_path / "capture", live.iloc[300:], encoding, booster, now - timedelta(hours=3), "c")
    hour_files = sorted((tmp_path / "capture" / "churn-endpoint").rglob("*.jsonl"))
    with open(hour_files[-1], "a") as f:
        f.write(
            "{not a capture record\n" + '{"captureData": {"endpointInput": {"mode": "INPUT", "da'
        )  # malformed, truncated
    labels = [
        {"inferenceId": i, "groundTruthLabel": int(y)}
        for i, y in zip(ids + clean_ids, list(drifted.churn) + list(live.churn.iloc[300:]), strict=True)
    ]
    labels.append({"inferenceId": "never-seen", "groundTruthLabel": 1})
    (tmp_path / "labels.jsonl").write_text("\n".join(json.dumps(x) for x in labels) + "\nnot json\n")
    assert main(["ground-truth", "upload", "churn-endpoint", str(tmp_path / "labels.jsonl")]) == 0
    out = capsys.readouterr()
    assert "stored 600 labels" in out.out and "1 malformed line(s)" in out.err
    assert "1 label(s) for inference ids never captured were refused: never-seen" in out.err

    assert main(["monitor", "run", "churn-endpoint", "--window", "1h", "--end", now.isoformat()]) == 1
    out = capsys.readouterr().out
    assert "CompletedWithViolations" in out and "malformed lines 1, truncated 1" in out
    assert "    - data_drift_check monthly_charges ks: Drift detected in 'monthly_charges'" in out  # names its feature
    assert "retrain: requested, not started - recorded in " in out and "retraining started" not in out
    run_dir = next((home / "monitoring" / "runs" / "churn-endpoint").iterdir())
    run = json.loads((run_dir / "run.json").read_text())
    assert run["Capture"]["Rows"] == 300 and run["GroundTruth"]["MatchedRows"] == 300
    statuses = {m["MonitoringType"]: m["MonitoringExecutionStatus"] for m in run["Monitors"]}
    assert statuses["data-drift"] == "CompletedWithViolations" and statuses["model-quality"] != "Failed"
    assert statuses["bias"] != "Failed" and statuses["attribution"] != "Failed"
    violations = json.loads((run_dir / "violations.json").read_text())["violations"]
    assert any(v["feature_name"] == "monthly_charges" and v["monitoring_type"] == "data-drift" for v in violations)
    assert (run_dir / "report.html").stat().st_size > 100_000
    page = (run_dir / "report.html").read_text()
    assert f"<title>Monitoring run {run['MonitoringRunName']} — churn-endpoint</title>" in page
    drifted_v = next(v for v in violations if v["monitoring_type"] == "data-drift")
    assert drifted_v["window_rows"] == 300 and drifted_v["observed_value"] < drifted_v["threshold"]
    assert (
        run["Retrain"]["Retrain"] is True and run["Retrain"]["TriggeringViolation"]["monitoring_type"] == "data-drift"
    )
    deadline = time.time() + 5
    while not receiver and time.time() < deadline:
        time.sleep(0.05)
    triggers = [a for a in receiver if a["EventAction"] == "trigger"]
    assert any(a["DedupKey"] == "mlops/churn-endpoint/data-drift" for a in triggers)

    clean_end = now - timedelta(hours=2)
    code = main(["monitor", "run", "churn-endpoint", "--window", "1h", "--end", clean_end.isoformat(), "--no-report"])
    out = capsys.readouterr().out
    assert code in (0, 1), out
    resolved = [a for a in receiver if a["EventAction"] == "resolve"]
    assert any(a["DedupKey"] == "mlops/churn-endpoint/data-drift" for a in resolved), out
    assert "retrain: no" in out

    assert (
        main(["monitor", "run", "churn-endpoint", "--window", "1h", "--end", (now - timedelta(hours=8)).isoformat()])
        == 3
    )
    assert "holds no captured rows for endpoint 'churn-endpoint'" in capsys.readouterr().out
    assert main(["monitor", "runs", "churn-endpoint"]) == 0
    header, *rows = capsys.readouterr().out.strip().splitlines()
    assert header.split() == ["RUN", "STATUS", "VIOLATIONS", "WINDOW"] and len(rows) == 3, rows
    assert np.isfinite(run["Monitors"][0]["DurationSeconds"])


def test_baseline_from_a_dataset_version_of_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "home"))
    generate(1500, seed=4).to_csv(tmp_path / "churn.csv", index=False)
    assert main(["data", "ingest", "churn", "--source", str(tmp_path / "churn.csv")]) == 0
    assert main(["monitor", "baseline", "churn", "--version", "1", "--facet", "gender"]) == 0
    out = capsys.readouterr().out
    assert "baseline churn from churn@" in out and "(version 1): 1500 rows, 14 columns" in out
    manifest = json.loads((tmp_path / "home" / "monitoring" / "baselines" / "churn" / "baseline.json").read_text())
    assert manifest["Encoding"]["LabelColumn"] == "churn" and "customer_id" not in manifest["Columns"]
    assert main(["monitor", "baseline", "churn", "--version", "7"]) == 2
    assert "churn version 7" in capsys.readouterr().err


def test_a_training_jobs_baseline_is_its_held_out_split_and_a_linear_learner_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mlops monitor baseline DATASET --model JOB`: the baseline is made from the test split the job never
    saw (named in baseline.json), and a linear-learner model gets a permutation-SHAP attribution baseline."""
    from mlops.core.datasets import DataFormat
    from mlops.services.datasets import dataset_store
    from mlops.settings import Settings

    home = tmp_path / "home"
    monkeypatch.setenv("MLOPS_HOME", str(home))
    generate(2000, seed=4).to_csv(tmp_path / "churn.csv", index=False)
    assert main(["data", "ingest", "churn", "--source", str(tmp_path / "churn.csv")]) == 0
    assert main(["data", "split", "churn"]) == 0
    store = dataset_store(Settings(home=home))
    split = store.splits(store.resolve("churn"))[0]
    part = {p.Name: p.file(DataFormat.csv).Uri for p in split.Parts}
    args = ["train", "--algorithm", "linear-learner", "--train", part["train"], "--validation", part["validation"],
            "--channel", f"test={part['test']}", "--hp", "predictor_type=binary_classifier", "--hp", "epochs=3",
            "--job-name", "ll-churn"]  # fmt: skip
    assert main(args) == 0, capsys.readouterr()
    capsys.readouterr()
    assert main(["monitor", "baseline", "churn", "--model", "ll-churn", "--facet", "gender"]) == 0
    out = capsys.readouterr()
    test_rows = split.part("test").Rows
    assert f"rows: the test split {split.SplitId} of churn@" in out.out and "warning" not in out.err
    folder = home / "monitoring" / "baselines" / "churn"
    manifest = json.loads((folder / "baseline.json").read_text())
    assert manifest["RowCount"] == test_rows and manifest["Rows"]["HeldOut"] is True
    assert manifest["Rows"]["SplitPart"] == "test" and manifest["Rows"]["TrainingJobName"] == "ll-churn"
    quality = json.loads((folder / "model-quality" / "statistics.json").read_text())
    assert quality["dataset"]["item_count"] == test_rows  # scored on rows the model never saw
    explained = json.loads((folder / "attribution.json").read_text())["explanations"]
    assert list(explained) == ["permutation_shap"] and manifest["AttributionMethod"] == "permutation_shap"
    values = explained["permutation_shap"]["label0"]["global_shap_values"]
    assert set(values) == set(manifest["Columns"]) and max(values.values()) > 0
    generate(1500, seed=5).to_csv(tmp_path / "churn2.csv", index=False)
    assert main(["data", "ingest", "churn", "--source", str(tmp_path / "churn2.csv")]) == 0
    capsys.readouterr()
    assert main(["monitor", "baseline", "churn", "--model", "ll-churn", "--version", "2", "--force"]) == 2
    assert "training job ll-churn was trained on churn@" in capsys.readouterr().err  # not another version's rows


def test_a_model_no_monitor_can_score_makes_a_baseline_without_it_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "home"))
    generate(800, seed=3).to_csv(tmp_path / "churn.csv", index=False)
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("model.bin")  # a brought-your-own container's model
        info.size = 4
        tar.addfile(info, io.BytesIO(b"\0\1\2\3"))
    args = [
        "monitor",
        "baseline",
        str(tmp_path / "churn.csv"),
        "--name",
        "byoc",
        "--model",
        str(tmp_path / "model.tar.gz"),
    ]
    assert main(args) == 0
    out = capsys.readouterr()
    assert "note: made without the model" in out.err and "holds model.bin" in out.err
    manifest = json.loads((tmp_path / "home" / "monitoring" / "baselines" / "byoc" / "baseline.json").read_text())
    assert manifest["HasPredictions"] is False and "AttributionMethod" not in manifest
    assert "no model-quality, post-training bias or attribution baseline" in manifest["Notes"][0]
