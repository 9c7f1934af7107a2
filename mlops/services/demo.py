"""The embedded-default demo: the bundled churn data, every built-in algorithm trained as SageMaker
would run it on the local runtime, each model served and scored on the held-out test split."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.training import TrainingJob
from mlops.data.churn_sample import write_demo_files
from mlops.runtime.interface import ModelServerRuntime, TrainingRuntime
from mlops.services.evaluation import Evaluation, evaluate_job
from mlops.services.training import TrainingInput, train

# The built-in algorithms and the hyperparameters the demo gives them (strings, as SageMaker passes them).
DEMO_JOBS: dict[str, dict[str, str]] = {
    "xgboost": {
        "objective": "binary:logistic", "num_round": "300", "max_depth": "5", "eta": "0.1",
        "subsample": "0.9", "early_stopping_rounds": "30", "eval_metric": "logloss,auc",
    },
    "linear-learner": {
        "predictor_type": "binary_classifier", "epochs": "8", "mini_batch_size": "500", "num_models": "8",
        "binary_classifier_model_selection_criteria": "accuracy",
    },
}


@dataclass(frozen=True)
class DemoResult:
    algorithm: str
    job: TrainingJob
    evaluation: Evaluation | None


def run_demo(
    training: TrainingRuntime,
    servers: ModelServerRuntime,
    catalog: AlgorithmCatalog,
    data_dir: Path,
    artifact_root: str,
    rows: int = 50_000,
    on_change: Callable[[TrainingJob], None] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> list[DemoResult]:
    say = on_step or (lambda _: None)
    say(f"writing the bundled churn dataset ({rows} rows) to {data_dir}")
    files = write_demo_files(data_dir, rows=rows)
    results = []
    for algorithm, hyperparameters in DEMO_JOBS.items():
        if algorithm not in catalog.names():
            continue
        say(f"training {algorithm}")
        inp = TrainingInput(
            algorithm=algorithm,
            channels={"train": str(files.train), "validation": str(files.validation)},
            hyperparameters=hyperparameters,
        )
        job = train(training, catalog, inp, artifact_root, on_change)
        evaluation = None
        if job.TrainingJobStatus.value == "Completed":
            say(f"serving {job.TrainingJobName} and scoring the test split")
            evaluation = evaluate_job(job, files.test, servers)
        results.append(DemoResult(algorithm, job, evaluation))
    return results
