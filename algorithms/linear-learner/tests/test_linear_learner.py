"""Tests of the linear-learner container: the spec, the pure parts, real training jobs and the model server.

Training jobs run ``train`` as a subprocess on a job folder laid out like /opt/ml (MLOPS_CONTRACT_ROOT),
four of them at once (importing torch dominates their time). Quality is compared with scikit-learn on
its bundled data sets, on the same train/test split:

- breast_cancer (binary): test accuracy at most 1 point below StandardScaler + LogisticRegression;
- digits (multiclass, with a validation channel): test accuracy at most 1 point below the same;
- diabetes (regressor): test RMSE at most 1% above LinearRegression (OLS). Early stopping is switched
  off there (patience > epochs, as SageMaker documents): the 331 training rows have strongly correlated
  features (s1/s2 correlate at 0.9), and with the default relative tolerance (0.1% per epoch) training
  stops at a training MSE about 0.3% above the OLS optimum, which shows as a test RMSE 0.5-1% above OLS.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ALGO_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ALGO_DIR))

import linear_learner_metrics as llm  # noqa: E402
import linear_learner_model as llmodel  # noqa: E402
import linear_learner_params as llp  # noqa: E402

from mlops.contract import AlgorithmError  # noqa: E402
from mlops.contract.metrics import metric_regex  # noqa: E402

# ------------------------------------------------------------------------------------------ helpers


def lay_out(
    root: Path,
    hyperparameters: dict[str, Any],
    channels: dict[str, Any],
    content_type: str = "text/csv",
    mode: str = "File",
) -> Path:
    """An /opt/ml tree: string hyperparameters, inputdataconfig and one data file per channel.

    A channel is (X, y) written as CSV with the label first, or bytes written as they are.
    """
    config = root / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps({k: str(v) for k, v in hyperparameters.items()}))
    described = {}
    for name, data in channels.items():
        folder = root / "input" / "data" / name
        folder.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            (folder / "part-0").write_bytes(data)
        else:
            X, y = data
            np.savetxt(folder / "data.csv", np.column_stack([y, X]), delimiter=",", fmt="%.10g")
        described[name] = {"ContentType": content_type, "TrainingInputMode": mode}
    (config / "inputdataconfig.json").write_text(json.dumps(described))
    return root


def environment(root: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "MLOPS_CONTRACT_ROOT": str(root), "OMP_NUM_THREADS": "1", **extra}


def start_train(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ALGO_DIR / "train")],
        env=environment(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class Job:
    def __init__(self, root: Path, process: subprocess.Popen[str]) -> None:
        self.root, self.process = root, process
        self._result: tuple[int, str, str] | None = None

    def result(self) -> tuple[int, str, str]:
        if self._result is None:
            out, err = self.process.communicate(timeout=300)
            self._result = (self.process.returncode, out, err)
        return self._result

    def ok(self) -> str:
        code, out, err = self.result()
        assert code == 0, f"train failed ({code}):\n{out[-2000:]}\n{err[-4000:]}"
        return out

    def metric(self, name: str) -> float:
        values = [float(v) for v in metric_values(self.ok(), name)]
        assert values, f"no {name} in the log"
        return values[-1]


def metric_values(log: str, name: str) -> list[str]:
    import re

    return [m.group(1) for line in log.splitlines() if (m := re.match(metric_regex(name), line))]


def split(
    loader: Any, stratify: bool = True, validation: bool = False
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import train_test_split

    X, y = loader(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y if stratify else None
    )
    parts = {"train": (Xtr, ytr), "test": (Xte, yte)}
    if validation:
        Xtr, Xva, ytr, yva = train_test_split(Xtr, ytr, test_size=0.2, random_state=0, stratify=ytr)
        parts.update(train=(Xtr, ytr), validation=(Xva, yva))
    return parts


def sklearn_accuracy(parts: dict[str, tuple[np.ndarray, np.ndarray]]) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(*parts["train"])
    return float(model.score(*parts["test"]))


# ------------------------------------------------------------------------------ the training jobs

BREAST_CANCER = {"predictor_type": "binary_classifier", "epochs": 100, "seed": 7}
DIGITS = {"predictor_type": "multiclass_classifier", "num_classes": 10, "mini_batch_size": 64, "epochs": 30}
DIABETES = {"predictor_type": "regressor", "epochs": 300, "early_stopping_patience": 301}


@pytest.fixture(scope="module")
def data() -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    from sklearn import datasets

    return {
        "breast_cancer": split(datasets.load_breast_cancer),
        "digits": split(datasets.load_digits, validation=True),
        "diabetes": split(datasets.load_diabetes, stratify=False),
    }


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any]) -> dict[str, Job]:
    """Four training jobs started at once; each test waits only for the one it reads."""
    base = tmp_path_factory.mktemp("jobs")
    specs = {
        "breast_cancer": (BREAST_CANCER, data["breast_cancer"]),
        "breast_cancer_again": (BREAST_CANCER, data["breast_cancer"]),
        "digits": (DIGITS, data["digits"]),
        "diabetes": (DIABETES, data["diabetes"]),
    }
    started = {}
    for name, (hyperparameters, channels) in specs.items():
        root = lay_out(base / name, hyperparameters, channels)
        started[name] = Job(root, start_train(root))
    yield started
    for job in started.values():
        if job.process.poll() is None:
            job.process.kill()
            job.process.wait()


def test_jobs_start_first(jobs: dict[str, Job]) -> None:
    """Starts the training subprocesses so that the in-process tests below run meanwhile."""
    assert all(job.process.pid for job in jobs.values())


# ------------------------------------------------------------------------------------- the spec


def test_algorithm_json_is_a_valid_spec_with_literal_metric_regexes() -> None:
    from mlops.core.algorithm import AlgorithmSpec, validate_hyperparameters

    spec = AlgorithmSpec.model_validate_json((ALGO_DIR / "algorithm.json").read_text())
    for definition in spec.TrainingSpecification.MetricDefinitions:
        assert definition.Regex == metric_regex(definition.Name)
    documented = {
        "objective_loss",
        "binary_classification_accuracy",
        "binary_f_beta",
        "precision",
        "recall",
        "roc_auc_score",
        "mse",
        "rmse",
        "absolute_loss",
        "multiclass_accuracy",
        "multiclass_top_k_accuracy",
        "dcg",
        "macro_precision",
        "macro_recall",
        "macro_f_beta",
    }
    tuning = {
        o.MetricName: o.Type.value for o in spec.TrainingSpecification.SupportedTuningJobObjectiveMetrics
    }
    assert set(tuning) == {f"{s}:{m}" for s in ("validation", "test") for m in documented}
    assert tuning["validation:objective_loss"] == "Minimize" and tuning["test:binary_f_beta"] == "Maximize"
    assert set(tuning) | {"train:objective_loss"} == set(spec.metric_names())
    names = {hp.Name for hp in spec.TrainingSpecification.SupportedHyperParameters}
    assert {
        "predictor_type",
        "num_classes",
        "epochs",
        "mini_batch_size",
        "num_models",
        "learning_rate",
        "optimizer",
        "l1",
        "wd",
        "use_bias",
        "normalize_data",
        "normalize_label",
        "loss",
        "early_stopping_patience",
        "early_stopping_tolerance",
        "binary_classifier_model_selection_criteria",
        "target_recall",
        "target_precision",
        "positive_example_weight_mult",
        "f_beta",
        "init_method",
        "seed",
    } <= names
    for hp in spec.TrainingSpecification.SupportedHyperParameters:
        if hp.DefaultValue is not None:
            validate_hyperparameters(spec, {"predictor_type": "regressor", hp.Name: hp.DefaultValue})
    validate_hyperparameters(
        spec,
        {
            "predictor_type": "binary_classifier",
            "use_bias": "True",
            "positive_example_weight_mult": "balanced",
            "learning_rate": "auto",
        },
    )
    channels = {c.Name: c for c in spec.TrainingSpecification.TrainingChannels}
    assert channels["train"].IsRequired and not channels["validation"].IsRequired
    assert set(channels["test"].SupportedContentTypes) == {"text/csv", "application/x-recordio-protobuf"}


# --------------------------------------------------------------------------------- pure parts


def test_hyperparameters_resolve_auto_values_and_refuse_bad_ones() -> None:
    settings = llp.resolve({"predictor_type": "binary_classifier"})
    assert settings.loss == "logistic" and settings.optimizer == "adam" and settings.num_models == 32
    assert settings.grid.describe(0) == {
        "learning_rate": 0.01,
        "wd": 0.0,
        "l1": 0.0,
        "positive_example_weight_mult": 1.0,
    }
    fixed = llp.resolve({"predictor_type": "regressor", "learning_rate": "0.1", "wd": "0", "l1": "0"})
    assert fixed.num_models == 1 and fixed.normalize_label and fixed.unbias_label
    assert (
        llp.resolve({"predictor_type": "regressor", "_tuning_objective_metric": "validation:mse"}).num_models
        == 1
    )
    assert llp.resolve({"predictor_type": "binary_classifier", "num_models": "40"}).num_models == 40
    assert llp.resolve({"predictor_type": "binary_classifier", "use_bias": "False"}).use_bias is False
    assert (
        llp.resolve(
            {"predictor_type": "binary_classifier", "binary_classifier_model_selection_criteria": "f1"}
        ).selection_criteria
        == "f_beta"
    )
    for given, words in [
        ({}, "predictor_type is required"),
        ({"predictor_type": "multiclass_classifier"}, "num_classes is required"),
        ({"predictor_type": "regressor", "loss": "logistic"}, "does not apply to predictor_type regressor"),
        ({"predictor_type": "regressor", "epoch": "3"}, "epoch is unknown"),
        ({"predictor_type": "regressor", "learning_rate": "fast"}, "learning_rate"),
        ({"predictor_type": "multiclass_classifier", "num_classes": "2"}, "out of range"),
    ]:
        with pytest.raises(AlgorithmError, match=words):
            llp.resolve(given)


def test_threshold_choice_per_criterion() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1])
    labels = np.array([1, 1, 0, 1, 0, 1, 0, 0])
    accuracy = llm.choose_threshold(scores, labels, "accuracy", default=0.5)
    assert accuracy.value == pytest.approx(0.75) and accuracy.threshold == pytest.approx(0.5)
    at_recall = llm.choose_threshold(
        scores, labels, "precision_at_target_recall", default=0.5, target_recall=1.0
    )
    assert at_recall.feasible and at_recall.threshold == pytest.approx(0.25)  # all four positives above it
    assert at_recall.value == pytest.approx(4 / 6)
    at_precision = llm.choose_threshold(
        scores, labels, "recall_at_target_precision", default=0.5, target_precision=1.0
    )
    assert at_precision.value == pytest.approx(0.5) and at_precision.threshold == pytest.approx(0.75)
    f2 = llm.choose_threshold(scores, labels, "f_beta", default=0.5, beta=2.0)
    predicted = scores > f2.threshold
    tp = np.sum(predicted & (labels == 1))
    precision, recall = tp / predicted.sum(), tp / 4
    assert f2.value == pytest.approx(5 * precision * recall / (4 * precision + recall))
    impossible = llm.choose_threshold(
        np.array([0.9, 0.1]),
        np.array([0, 1]),
        "recall_at_target_precision",
        default=0.5,
        target_precision=0.9,
    )
    assert not impossible.feasible


def test_metrics_agree_with_scikit_learn() -> None:
    from sklearn import metrics

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = np.round(np.clip(labels * 0.3 + rng.random(200) * 0.7, 0, 1), 2)  # with ties
    got = llm.binary_metrics(scores, labels, 0.5, beta=0.5)
    predicted = (scores > 0.5).astype(int)
    assert got["roc_auc_score"] == pytest.approx(metrics.roc_auc_score(labels, scores))
    assert got["binary_f_beta"] == pytest.approx(metrics.fbeta_score(labels, predicted, beta=0.5))
    assert got["precision"] == pytest.approx(metrics.precision_score(labels, predicted))
    classes = rng.integers(0, 4, 300)
    probabilities = rng.dirichlet(np.ones(4), 300)
    got = llm.multiclass_metrics(probabilities, classes, top_k=2, beta=1.0)
    predicted = probabilities.argmax(1)
    assert got["multiclass_accuracy"] == pytest.approx(metrics.accuracy_score(classes, predicted))
    assert got["macro_precision"] == pytest.approx(
        metrics.precision_score(classes, predicted, average="macro")
    )
    assert got["macro_recall"] == pytest.approx(metrics.recall_score(classes, predicted, average="macro"))
    assert got["macro_f_beta"] == pytest.approx(metrics.f1_score(classes, predicted, average="macro"))
    assert got["multiclass_top_k_accuracy"] == pytest.approx(
        metrics.top_k_accuracy_score(classes, probabilities, k=2)
    )
    got = llm.regression_metrics(np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 2.0]))
    assert got == pytest.approx({"mse": 5 / 3, "rmse": (5 / 3) ** 0.5, "absolute_loss": 1.0})


def test_npz_is_byte_reproducible_and_loads_without_pickle(tmp_path: Path) -> None:
    arrays = {"a": np.arange(3.0), "b": np.ones((2, 2), dtype=np.float32)}
    llmodel.write_npz(tmp_path / "one.npz", arrays)
    llmodel.write_npz(tmp_path / "two.npz", {"b": arrays["b"], "a": arrays["a"]})
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    with np.load(tmp_path / "one.npz", allow_pickle=False) as npz:
        assert npz["b"].dtype == np.float32 and npz["a"].tolist() == [0.0, 1.0, 2.0]


# ---------------------------------------------------------------- variants trained in this process


def train_here(root: Path) -> str:
    """Run the training entry point in this process (torch is imported once for all variants)."""
    import contextlib
    import io

    from linear_learner_algorithm import train

    from mlops.contract import Layout

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        train(Layout(root))
    return out.getvalue()


def blobs(rows: int, features: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features)).astype(np.float32)
    y = (X @ rng.normal(size=features) + 0.3 * rng.normal(size=rows) > 0).astype(np.float32)
    return X, y


def test_recordio_sparse_channel_in_pipe_mode_with_hinge_loss(tmp_path: Path) -> None:
    import scipy.sparse as sp

    from mlops.contract.recordio import write_sparse

    X, y = blobs(400, 12)
    X[np.abs(X) < 0.7] = 0.0  # mostly zeros
    body = tmp_path / "body"
    with open(body, "wb") as stream:
        write_sparse(stream, sp.csr_matrix(X), y)
    root = lay_out(
        tmp_path / "job",
        {
            "predictor_type": "binary_classifier",
            "loss": "hinge_loss",
            "epochs": 5,
            "mini_batch_size": 50,
            "num_models": 4,
        },
        {},
        content_type="application/x-recordio-protobuf",
        mode="Pipe",
    )
    config = root / "input" / "config" / "inputdataconfig.json"
    config.write_text(
        json.dumps({"train": {"ContentType": "application/x-recordio-protobuf", "TrainingInputMode": "Pipe"}})
    )
    fifo = root / "input" / "data" / "train_0"
    fifo.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(body.read_bytes()), daemon=True)
    writer.start()
    log = train_here(root)
    writer.join(timeout=10)
    description = json.loads((root / "model" / "model.json").read_text())
    assert description["score"] == "margin" and description["loss"] == "hinge_loss"
    assert not description["feature_normalization"]["shifted"]  # sparse data is scaled, never shifted
    assert description["num_models"] == 4 and len(metric_values(log, "train:objective_loss")) >= 2
    model = llmodel.load(root / "model")
    accuracy = np.mean([r["predicted_label"] for r in model.records(sp.csr_matrix(X))] == y)
    assert accuracy > 0.85


@pytest.mark.parametrize("criterion", ["f_beta", "precision_at_target_recall", "recall_at_target_precision"])
def test_binary_threshold_follows_the_selection_criterion(tmp_path: Path, criterion: str) -> None:
    train, validation = blobs(300, 6, seed=1), blobs(200, 6, seed=2)
    root = lay_out(
        tmp_path,
        {
            "predictor_type": "binary_classifier",
            "epochs": 4,
            "mini_batch_size": 100,
            "binary_classifier_model_selection_criteria": criterion,
            "target_recall": "0.95",
            "target_precision": "0.95",
            "positive_example_weight_mult": "auto",
        },
        {"train": train, "validation": validation},
    )
    log = train_here(root)
    description = json.loads((root / "model" / "model.json").read_text())
    assert (
        description["selection"]["criterion"] == criterion
        and description["selection"]["data"] == "validation"
    )
    recall, precision = (
        float(metric_values(log, "validation:recall")[-1]),
        float(metric_values(log, "validation:precision")[-1]),
    )
    if criterion == "precision_at_target_recall":
        assert recall >= 0.95
    if criterion == "recall_at_target_precision":
        assert precision >= 0.95
    steps = [line for line in log.splitlines() if line.startswith("#metric validation:objective_loss=")]
    assert steps[0].endswith(" step=0") and " step=" not in steps[-1]


# ------------------------------------------------------------------------------- training jobs


def test_binary_classifier_on_breast_cancer(jobs: dict[str, Job], data: dict[str, Any]) -> None:
    job = jobs["breast_cancer"]
    log = job.ok()
    epochs = metric_values(log, "train:objective_loss")
    assert len(epochs) >= 3  # one per epoch with step=, then the final value
    assert "#metric train:objective_loss=" in log and " step=0\n" in log
    description = json.loads((job.root / "model" / "model.json").read_text())
    assert description["predictor_type"] == "binary_classifier" and description["score"] == "probability"
    assert description["feature_dim"] == 30 and description["classes"] == [0, 1]
    assert 0.0 < description["threshold"] < 1.0 and description["selection"]["data"] == "train"
    with np.load(job.root / "model" / "model.npz", allow_pickle=False) as npz:
        assert npz["weights"].shape == (30, 1) and npz["bias"].shape == (1,)
        assert npz["feature_scale"].shape == npz["feature_shift"].shape == (30,)
    ours = job.metric("test:binary_classification_accuracy")
    reference = sklearn_accuracy(data["breast_cancer"])
    print(f"breast_cancer accuracy: ours {ours:.4f}, scikit-learn {reference:.4f}")
    assert ours >= reference - 0.01
    X_test, y_test = data["breast_cancer"]["test"]
    records = llmodel.load(job.root / "model").records(X_test)
    assert np.mean([r["predicted_label"] for r in records] == y_test) == pytest.approx(ours, abs=1e-6)
    for metric in ("objective_loss", "binary_f_beta", "precision", "recall", "roc_auc_score"):
        assert 0.0 <= job.metric(f"test:{metric}") <= 1.0


def test_a_seeded_job_writes_a_byte_identical_model(jobs: dict[str, Job]) -> None:
    first, second = jobs["breast_cancer"], jobs["breast_cancer_again"]
    first.ok()
    second.ok()
    for name in ("model.json", "model.npz"):
        assert (first.root / "model" / name).read_bytes() == (second.root / "model" / name).read_bytes()


def test_multiclass_classifier_on_digits(jobs: dict[str, Job], data: dict[str, Any]) -> None:
    job = jobs["digits"]
    log = job.ok()
    steps = [line for line in log.splitlines() if line.startswith("#metric validation:objective_loss=")]
    assert steps[0].endswith(" step=0") and " step=" not in steps[-1]
    ours = job.metric("test:multiclass_accuracy")
    reference = sklearn_accuracy(data["digits"])
    print(f"digits accuracy: ours {ours:.4f}, scikit-learn {reference:.4f}")
    assert ours >= reference - 0.01
    for metric in ("multiclass_top_k_accuracy", "dcg", "macro_precision", "macro_recall", "macro_f_beta"):
        assert 0.9 <= job.metric(f"validation:{metric}") <= 1.0
    assert job.metric("test:multiclass_top_k_accuracy") >= ours
    description = json.loads((job.root / "model" / "model.json").read_text())
    assert description["classes"] == list(range(10)) and description["selection"]["data"] == "validation"


def test_regressor_on_diabetes(jobs: dict[str, Job], data: dict[str, Any]) -> None:
    from sklearn.linear_model import LinearRegression, Ridge
    from sklearn.metrics import mean_squared_error

    job = jobs["diabetes"]
    ours = job.metric("test:rmse")
    X_test, y_test = data["diabetes"]["test"]
    ols = (
        mean_squared_error(y_test, LinearRegression().fit(*data["diabetes"]["train"]).predict(X_test)) ** 0.5
    )
    ridge = mean_squared_error(y_test, Ridge().fit(*data["diabetes"]["train"]).predict(X_test)) ** 0.5
    print(f"diabetes RMSE: ours {ours:.3f}, OLS {ols:.3f}, Ridge {ridge:.3f}")
    assert ours <= ols * 1.01
    assert job.metric("test:mse") == pytest.approx(ours**2, rel=1e-4)
    assert job.metric("test:objective_loss") == pytest.approx(job.metric("test:mse"), rel=1e-4)
    description = json.loads((job.root / "model" / "model.json").read_text())
    assert description["label_normalization"]["scale"] > 1.0 and description["score"] == "value"


# --------------------------------------------------------------------------------------- failures


def failing(root: Path) -> str:
    process = subprocess.run(
        [sys.executable, str(ALGO_DIR / "train")],
        env=environment(root),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode != 0
    assert "AlgorithmError" in process.stderr
    return (root / "output" / "failure").read_text()


def test_bad_data_fails_with_a_failure_file_naming_channel_file_and_line(tmp_path: Path) -> None:
    X, y = blobs(20, 3)
    y[4] = 2.0
    root = lay_out(tmp_path / "label", {"predictor_type": "binary_classifier"}, {"train": (X, y)})
    reason = failing(root)
    assert "channel 'train'" in reason and "train/data.csv" in reason and "line 5" in reason
    assert "label 2 is not valid for predictor_type binary_classifier" in reason

    X, y = blobs(20, 3)
    root = lay_out(
        tmp_path / "width",
        {"predictor_type": "binary_classifier"},
        {"train": (X, y), "validation": (X[:, :2], y)},
    )
    reason = failing(root)
    assert "channel 'validation'" in reason and "has 2 features but channel 'train' has 3" in reason


@pytest.mark.parametrize(
    ("predictor", "bad", "words"),
    [
        ("binary_classifier", "feature", "line 3: missing or infinite feature value"),
        (
            "multiclass_classifier",
            "label",
            "line 3: label 3 is not valid for predictor_type multiclass_classifier",
        ),
        ("regressor", "infinite label", "line 3: label inf is not valid for predictor_type regressor"),
    ],
)
def test_bad_values_are_refused_before_training(tmp_path: Path, predictor: str, bad: str, words: str) -> None:
    from mlops.contract import ChannelDataError

    X, y = blobs(10, 3)
    if bad == "feature":
        X[2, 1] = np.nan
    else:
        y[2] = np.inf if bad == "infinite label" else 3
    root = lay_out(tmp_path, {"predictor_type": predictor, "num_classes": 3}, {"train": (X, y)})
    with pytest.raises(ChannelDataError, match=words):
        train_here(root)
    assert not (root / "model").exists()


def test_missing_train_channel_is_named_in_the_failure_file(tmp_path: Path) -> None:
    X, y = blobs(20, 3)
    root = lay_out(tmp_path, {"predictor_type": "regressor"}, {"validation": (X, y)})
    assert "channel 'train' is required" in failing(root)


# ------------------------------------------------------------------------------------- inference


def answer(handler: Any, model: Any, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
    return handler.output_fn(handler.predict_fn(handler.input_fn(body, content_type), model), accept)


def test_answer_shapes_of_multiclass_and_regressor_models(jobs: dict[str, Job], data: dict[str, Any]) -> None:
    from linear_learner_algorithm import LinearLearnerHandler

    from mlops.contract.recordio import decode_label_maps, encode_dense

    handler = LinearLearnerHandler()
    jobs["digits"].ok()
    digits = handler.model_fn(jobs["digits"].root / "model")
    rows = data["digits"]["test"][0][:2]
    body, kind = answer(
        handler,
        digits,
        json.dumps({"instances": rows.tolist()}).encode(),
        "application/json",
        "application/json",
    )
    predictions = json.loads(body)["predictions"]
    assert kind == "application/json" and len(predictions) == 2
    assert len(predictions[0]["score"]) == 10 and sum(predictions[0]["score"]) == pytest.approx(1.0)
    assert predictions[0]["predicted_label"] == int(np.argmax(predictions[0]["score"]))
    body, kind = answer(
        handler,
        digits,
        encode_dense(rows),
        "application/x-recordio-protobuf",
        "application/x-recordio-protobuf",
    )
    labels = decode_label_maps(body)
    assert kind == "application/x-recordio-protobuf" and labels[0]["score"].shape == (10,)
    assert int(labels[1]["predicted_label"][0]) == predictions[1]["predicted_label"]

    jobs["diabetes"].ok()
    diabetes = handler.model_fn(jobs["diabetes"].root / "model")
    csv_rows = "\n".join(
        ",".join(f"{v:.10g}" for v in row) for row in data["diabetes"]["test"][0][:3]
    ).encode()
    body, kind = answer(handler, diabetes, csv_rows, "text/csv", "application/jsonlines")
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert kind == "application/jsonlines" and len(lines) == 3 and set(lines[0]) == {"score"}
    assert 20 < lines[0]["score"] < 400
    body, kind = answer(handler, diabetes, csv_rows, "text/csv", "text/csv")
    assert [float(v) for v in body.decode().split()] == pytest.approx([r["score"] for r in lines])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(
    port: int, body: bytes | None = None, headers: dict[str, str] | None = None, path: str = "/invocations"
) -> tuple[int, bytes, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def test_model_server_answers_like_linear_learner(jobs: dict[str, Job], data: dict[str, Any]) -> None:
    job = jobs["breast_cancer"]
    job.ok()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(ALGO_DIR / "serve")],
        env=environment(job.root, SAGEMAKER_BIND_TO_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                if request(port, path="/ping")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "no answer to /ping within 60 s"
            time.sleep(0.2)
        X = data["breast_cancer"]["test"][0][:3]
        csv_body = "\n".join(",".join(f"{v:.10g}" for v in row) for row in X).encode()
        status, body, kind = request(
            port, csv_body, {"Content-Type": "text/csv", "Accept": "application/json"}
        )
        assert status == 200 and kind == "application/json"
        predictions = json.loads(body)["predictions"]
        assert len(predictions) == 3 and set(predictions[0]) == {"score", "predicted_label"}
        assert all(0.0 <= p["score"] <= 1.0 and p["predicted_label"] in (0, 1) for p in predictions)

        status, body, kind = request(
            port, json.dumps({"instances": X.tolist()}).encode(), {"Content-Type": "application/json"}
        )
        assert status == 200 and json.loads(body)["predictions"] == pytest.approx(predictions)

        status, body, kind = request(port, csv_body, {"Content-Type": "text/csv", "Accept": "text/csv"})
        assert status == 200 and kind == "text/csv"
        assert [int(v) for v in body.decode().split()] == [p["predicted_label"] for p in predictions]

        status, body, _ = request(port, csv_body, {"Content-Type": "application/x-unknown"})
        assert status == 415
        status, body, _ = request(port, b"1,2,3\n", {"Content-Type": "text/csv"})
        assert status == 400 and b"30 features" in body
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=15)
        finally:
            if server.poll() is None:
                server.kill()
    assert code == 0
