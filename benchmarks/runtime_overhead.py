"""Overhead of the local process runtime against calling xgboost directly, same data, same run.

    python benchmarks/runtime_overhead.py [--rows 1000000] [--features 20] [--rounds 50] [--runs 3]

Direct: read the same CSV with pandas, build the DMatrix, xgb.train with the same parameters and the
same evaluation set, save the model. Runtime: `mlops train` through the service, from
CreateTrainingJob to Completed (supervisor start, staging, config files, process start, log and
metric parsing, packing model.tar.gz, sha256). Also a tiny job (100 rows, 1 round) for the fixed
cost per job. Goals: total <= 1.3x direct; fixed overhead <= 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from benchmarks._common import median, save, scratch_settings, table
from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.runtime.local_process import LocalProcessRuntime
from mlops.services.training import TrainingInput, train


def make_csv(path: Path, rows: int, features: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features)).astype(np.float32)
    w = rng.normal(size=features)
    y = (X @ w + 0.5 * np.sin(X[:, 0] * 3) + rng.normal(scale=1.0, size=rows) > 0).astype(np.float32)
    pd.DataFrame(np.column_stack([y, X])).to_csv(path, header=False, index=False, float_format="%.6g")
    return path


def direct(path: Path, params: dict[str, str], out: Path) -> float:
    start = time.perf_counter()
    frame = pd.read_csv(path, header=None, dtype=np.float32, engine="c").to_numpy()
    threads = int(params["nthread"])
    dtrain = xgb.DMatrix(frame[:, 1:], label=frame[:, 0], missing=np.nan, nthread=threads)
    booster = xgb.train(
        {"objective": params["objective"], "max_depth": int(params["max_depth"]), "eta": float(params["eta"]),
         "tree_method": "hist", "nthread": threads, "seed": 0, "eval_metric": ["logloss", "error", "auc"]},
        dtrain, num_boost_round=int(params["num_round"]), evals=[(dtrain, "train")], verbose_eval=False,
    )
    out.write_bytes(bytes(booster.save_raw("ubj")))
    return time.perf_counter() - start


def through_runtime(path: Path, params: dict[str, str]) -> float:
    settings = scratch_settings("overhead")
    catalog = AlgorithmCatalog(settings.algorithms_dir)
    runtime = LocalProcessRuntime(settings.jobs_dir, catalog)
    start = time.perf_counter()
    job = train(runtime, catalog, TrainingInput("xgboost", {"train": str(path)}, params), settings.artifacts,
                )
    elapsed = time.perf_counter() - start
    assert job.TrainingJobStatus.value == "Completed", job.FailureReason
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mlops-overhead-"))
    threads = str(os.cpu_count() or 1)
    params = {"objective": "binary:logistic", "num_round": str(args.rounds), "max_depth": "6", "eta": "0.3",
              "tree_method": "hist", "nthread": threads, "seed": "0"}
    tiny_params = {**params, "num_round": "1"}
    print(f"writing {args.rows} x {args.features} CSV …", flush=True)
    big = make_csv(work / "big.csv", args.rows, args.features)
    tiny = make_csv(work / "tiny.csv", 100, args.features)
    results: dict[str, list[float]] = {"direct": [], "runtime": [], "tiny_direct": [], "tiny_runtime": []}
    for run in range(args.runs):
        results["direct"].append(direct(big, params, work / "direct-model"))
        results["runtime"].append(through_runtime(big, params))
        results["tiny_direct"].append(direct(tiny, tiny_params, work / "tiny-model"))
        results["tiny_runtime"].append(through_runtime(tiny, tiny_params))
        print(f"run {run + 1}: " + ", ".join(f"{k}={v[-1]:.2f}s" for k, v in results.items()), flush=True)
    d, r = median(results["direct"]), median(results["runtime"])
    fixed = median(results["tiny_runtime"]) - median(results["tiny_direct"])
    rows = [
        [f"{args.rows} x {args.features}, {args.rounds} rounds", f"{d:.2f}", f"{r:.2f}", f"{r / d:.3f}", "<= 1.3"],
        ["100 x 20, 1 round (fixed cost)", f"{median(results['tiny_direct']):.2f}",
         f"{median(results['tiny_runtime']):.2f}", f"+{fixed:.2f} s", "<= +1.5 s"],
    ]
    print(f"\nmedians of {args.runs} runs, {os.cpu_count()} cores")
    print(table(["job", "direct s", "mlops train s", "ratio / extra", "goal"], rows))
    save("runtime_overhead", {"args": vars(args), "seconds": results})


if __name__ == "__main__":
    main()
