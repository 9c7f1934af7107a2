"""Proof that an algorithm is one folder: a copy of xgboost under a new name, whose algorithm.json says a
different default objective and a different tuning resource, is tuned by the training pipeline's request
building and tuning config with that objective and that resource, with no edit under mlops/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlops.airflow import steps
from mlops.airflow.request import objective_for, parse_training_request, tuning_config
from mlops.core.tuning import ObjectiveType
from mlops.settings import Settings

ALGORITHMS = Path(__file__).resolve().parents[3] / "algorithms"
NAME = "boosted-trees"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    root = tmp_path / "algorithms"
    shutil.copytree(ALGORITHMS / "xgboost", root / NAME, ignore=shutil.ignore_patterns("__pycache__"))
    path = root / NAME / "algorithm.json"
    spec = json.loads(path.read_text())
    spec["AlgorithmName"] = NAME
    spec["TuningResourceHyperParameter"] = "max_bin"
    spec["DefaultTuning"]["StaticHyperParameters"]["max_bin"] = "64"
    for entry in spec["SupportedProblemTypes"]:
        if entry["ProblemType"] == "BinaryClassification":
            entry["DefaultTuningJobObjective"] = {"Type": "Minimize", "MetricName": "validation:logloss"}
    path.write_text(json.dumps(spec, indent=2))
    return Settings(home=tmp_path / "home", algorithms_dir=root)


def test_the_pipeline_tunes_a_new_folder_with_its_own_objective_and_resource(
    settings: Settings, tmp_path: Path
) -> None:
    request = parse_training_request({"algorithm": NAME, "tuning_strategy": "Hyperband"}, settings)
    objective = objective_for(request, settings, "BinaryClassification")
    assert (objective.MetricName, objective.Type) == ("validation:logloss", ObjectiveType.Minimize)
    config = tuning_config(request, objective)
    assert config.StrategyConfig is not None and config.StrategyConfig.HyperbandStrategyConfig is not None
    hyperband = config.StrategyConfig.HyperbandStrategyConfig
    assert (hyperband.MinResource, hyperband.MaxResource) == (2, 64)  # a thirtieth of max_bin's 64, not num_round

    data = tmp_path / "data.csv"
    data.write_text("0,1.0,2.0\n1,0.5,0.1\n")
    dataset = {"problem": "BinaryClassification", "classes": 2}
    job = steps.build_tuning_job(settings, request, dataset, {"train": str(data), "validation": str(data)}, "run-1")
    assert job.TrainingJobDefinition.AlgorithmSpecification.AlgorithmName == NAME
    assert job.HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName == "validation:logloss"
    static = job.TrainingJobDefinition.StaticHyperParameters
    assert "max_bin" not in static and static["num_round"] == "100"  # Hyperband sets max_bin for each job
    assert static["objective"] == "binary:logistic"


def test_without_tuning_its_defaults_are_used_as_well(settings: Settings, tmp_path: Path) -> None:
    request = parse_training_request({"algorithm": NAME, "tuning_strategy": "none"}, settings)
    data = tmp_path / "data.csv"
    data.write_text("0,1.0,2.0\n1,0.5,0.1\n")
    dataset = {"problem": "BinaryClassification", "classes": 2}
    job = steps.build_training_job(settings, request, dataset, {"train": str(data), "validation": str(data)}, "run-2")
    assert job.AlgorithmSpecification.AlgorithmName == NAME
    assert job.HyperParameters["max_bin"] == "64" and job.HyperParameters["eta"] == "0.2"
