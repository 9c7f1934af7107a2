"""Quality of the built-in algorithms against references trained directly, same splits.

    python benchmarks/algorithm_quality.py

For each dataset (the bundled churn table, scikit-learn's breast_cancer and diabetes) and each
built-in algorithm, train through the platform (local runtime), score the held-out test split
through the model server's /invocations, and compare with the reference trained in-process on the
same split: xgboost's own XGBClassifier/XGBRegressor with the same hyperparameters for xgboost;
scikit-learn's LogisticRegression / Ridge (tuned by cross-validation) for linear-learner.
Goal: within 1% of the reference (AUC for binary, RMSE for regression).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegressionCV, RidgeCV
from sklearn.metrics import mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks._common import save, scratch_settings, table
from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.data.churn_sample import encode, generate
from mlops.runtime.local_process import LocalProcessRuntime
from mlops.runtime.local_server import LocalModelServerRuntime
from mlops.services.evaluation import evaluate_job
from mlops.services.training import TrainingInput, train

XGB_HP = {"num_round": "200", "max_depth": "4", "eta": "0.1", "subsample": "1", "seed": "0", "nthread": "2"}
LL_HP = {"epochs": "30", "mini_batch_size": "100", "num_models": "16", "seed": "0"}


def churn_matrix(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The churn table encoded as `mlops sample-data` and `mlops data ingest` encode it: (features, labels)."""
    with tempfile.TemporaryDirectory() as folder:
        table = Path(folder) / "churn.csv"
        generate(rows, seed=7).to_csv(table, index=False)
        _, labels, features = encode(table)
    return features.astype(np.float64), labels.astype(np.float64)


def datasets(rows: int) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    churn_X, churn_y = churn_matrix(rows)
    bc = load_breast_cancer()
    db = load_diabetes()
    return {
        "churn": ("binary", churn_X, churn_y),
        "breast_cancer": ("binary", bc.data, bc.target.astype(float)),
        "diabetes": ("regression", db.data, db.target.astype(float)),
    }


def write(folder: Path, name: str, X: np.ndarray, y: np.ndarray) -> Path:
    path = folder / f"{name}.csv"
    pd.DataFrame(np.column_stack([y, X])).to_csv(path, header=False, index=False, float_format="%.10g")
    return path


def reference(algorithm: str, problem: str, Xtr, ytr, Xva, yva, Xte) -> np.ndarray:  # type: ignore[no-untyped-def]
    if algorithm == "xgboost":
        kwargs = dict(n_estimators=200, max_depth=4, learning_rate=0.1, random_state=0, n_jobs=2, tree_method="hist")
        if problem == "binary":
            return xgb.XGBClassifier(**kwargs).fit(Xtr, ytr).predict_proba(Xte)[:, 1]
        return xgb.XGBRegressor(**kwargs).fit(Xtr, ytr).predict(Xte)
    if problem == "binary":
        model = make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=10, max_iter=2000))
        return model.fit(Xtr, ytr).predict_proba(Xte)[:, 1]
    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13))).fit(Xtr, ytr).predict(Xte)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--churn-rows", type=int, default=50_000)
    args = parser.parse_args()
    settings = scratch_settings("quality")
    catalog = AlgorithmCatalog(settings.algorithms_dir)
    runtime = LocalProcessRuntime(settings.jobs_dir, catalog)
    servers = LocalModelServerRuntime(settings.home / "servers", catalog)
    work = Path(tempfile.mkdtemp(prefix="mlops-quality-"))
    rows, raw = [], []
    for name, (problem, X, y) in datasets(args.churn_rows).items():
        stratify = y if problem == "binary" else None
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0, stratify=stratify)
        Xtr, Xva, ytr, yva = train_test_split(Xtr, ytr, test_size=0.2, random_state=0,
                                              stratify=ytr if problem == "binary" else None)
        folder = work / name
        folder.mkdir()
        paths = {s: write(folder, s, a, b) for s, a, b in (("train", Xtr, ytr), ("validation", Xva, yva),
                                                            ("test", Xte, yte))}
        for algorithm in ("xgboost", "linear-learner"):
            if algorithm == "xgboost":
                hp = {**XGB_HP, "objective": "binary:logistic" if problem == "binary" else "reg:squarederror"}
            else:
                hp = {**LL_HP, "predictor_type": "binary_classifier" if problem == "binary" else "regressor"}
            job = train(runtime, catalog, TrainingInput(algorithm, {"train": str(paths["train"]),
                                                                   "validation": str(paths["validation"])}, hp),
                        settings.artifacts)
            assert job.TrainingJobStatus.value == "Completed", job.FailureReason
            ours = evaluate_job(job, paths["test"], servers).metrics
            ref_pred = reference(algorithm, problem, Xtr, ytr, Xva, yva, Xte)
            if problem == "binary":
                metric, value, ref = "AUC", ours["auc"], float(roc_auc_score(yte, ref_pred))
                gap = (ref - value) / ref
            else:
                metric, value, ref = "RMSE", ours["rmse"], float(np.sqrt(mean_squared_error(yte, ref_pred)))
                gap = (value - ref) / ref
            verdict = "ok" if gap <= 0.01 else "MISSED"
            rows.append([name, algorithm, metric, f"{value:.4f}", f"{ref:.4f}", f"{gap * 100:+.2f}%", verdict])
            raw.append({"dataset": name, "algorithm": algorithm, "metric": metric, "ours": value, "reference": ref})
            print(" ".join(rows[-1]), flush=True)
    print("\n(gap > 0 means worse than the reference; goal: gap <= +1%)")
    print(table(["dataset", "algorithm", "metric", "ours", "reference", "gap", "within 1%"], rows))
    save("algorithm_quality", raw)


if __name__ == "__main__":
    main()
