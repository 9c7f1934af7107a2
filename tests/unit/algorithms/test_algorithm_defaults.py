"""algorithm.json's own checks of the pipeline's defaults: a default objective the algorithm declares, search
ranges on tunable hyperparameters within their declared ranges, an Integer tuning resource. Each refusal
names the algorithm.json file and the field."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.errors import ValidationError

ALGORITHMS = Path(__file__).resolve().parents[3] / "algorithms"


def _edited(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> AlgorithmCatalog:
    root = tmp_path / "algorithms"
    shutil.copytree(ALGORITHMS / "xgboost", root / "xgboost", ignore=shutil.ignore_patterns("__pycache__"))
    path = root / "xgboost" / "algorithm.json"
    spec = json.loads(path.read_text())
    edit(spec)
    path.write_text(json.dumps(spec, indent=2))
    return AlgorithmCatalog(root)


def _binary(spec: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in spec["SupportedProblemTypes"] if p["ProblemType"] == "BinaryClassification")


def _eta(spec: dict[str, Any]) -> dict[str, Any]:
    ranges = spec["DefaultTuning"]["ParameterRanges"]["ContinuousParameterRanges"]
    return next(r for r in ranges if r["Name"] == "eta")


def test_the_bundled_algorithms_declare_the_pipelines_defaults() -> None:
    catalog = AlgorithmCatalog(ALGORITHMS)
    xgboost, linear = catalog.get("xgboost"), catalog.get("linear-learner")
    assert xgboost.TuningResourceHyperParameter == "num_round" and linear.TuningResourceHyperParameter == "epochs"
    binary = xgboost.problem_type("BinaryClassification")
    assert binary is not None and binary.DefaultTuningJobObjective.MetricName == "validation:auc"
    assert binary.DefaultTuningJobObjective.Type.value == "Maximize"
    assert xgboost.DefaultTuning is not None and xgboost.DefaultTuning.StaticHyperParameters["num_round"] == "100"
    assert catalog.get("byoc-example").DefaultTuning is None  # the pipeline does not tune it


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (
            lambda s: _binary(s)["DefaultTuningJobObjective"].update(MetricName="validation:f1"),
            "SupportedProblemTypes[BinaryClassification].DefaultTuningJobObjective: 'validation:f1' is not among "
            "TrainingSpecification.SupportedTuningJobObjectiveMetrics",
        ),
        (
            lambda s: _binary(s)["DefaultTuningJobObjective"].update(Type="Minimize"),
            "DefaultTuningJobObjective: 'validation:auc' is declared Maximize, not Minimize",
        ),
        (
            lambda s: _eta(s).update(MaxValue="5"),
            "DefaultTuning.ParameterRanges eta: bound '5' is not valid: 5 is out of range",
        ),
        (
            lambda s: _eta(s).update(Name="etta"),
            "DefaultTuning.ParameterRanges etta: 'etta' is not among TrainingSpecification.SupportedHyperParameters",
        ),
        (
            lambda s: s["DefaultTuning"]["ParameterRanges"]["CategoricalParameterRanges"].append(
                {"Name": "tree_method", "Values": ["hist", "approx"]}
            ),
            "DefaultTuning.ParameterRanges tree_method: the hyperparameter is declared IsTunable false",
        ),
        (
            lambda s: s["DefaultTuning"]["ParameterRanges"]["IntegerParameterRanges"].append(
                {"Name": "gamma", "MinValue": "0", "MaxValue": "10"}
            ),
            "DefaultTuning.ParameterRanges gamma: a Continuous hyperparameter takes no Integer range",
        ),
        (
            lambda s: s.update(TuningResourceHyperParameter="eta"),
            "TuningResourceHyperParameter: 'eta' is a Continuous hyperparameter, not Integer",
        ),
        (
            lambda s: s.update(TuningResourceHyperParameter="rounds"),
            "TuningResourceHyperParameter: 'rounds' is not among TrainingSpecification.SupportedHyperParameters",
        ),
        (
            lambda s: _binary(s)["HyperParameters"].update(objective="binary:magic"),
            "SupportedProblemTypes[BinaryClassification].HyperParameters.objective: 'binary:magic' is not allowed",
        ),
        (
            lambda s: s["DefaultTuning"]["StaticHyperParameters"].update(eta="0.1"),
            "DefaultTuning.StaticHyperParameters: eta also tuned",
        ),
    ],
    ids=[
        "undeclared-objective",
        "wrong-direction",
        "range-outside-declared",
        "range-of-unknown-name",
        "range-of-untunable",
        "range-of-wrong-kind",
        "continuous-resource",
        "unknown-resource",
        "bad-problem-hyperparameter",
        "static-also-tuned",
    ],
)
def test_a_bad_default_is_refused_naming_the_file_and_the_field(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], needle: str
) -> None:
    catalog = _edited(tmp_path, edit)
    with pytest.raises(ValidationError) as refused:
        catalog.get("xgboost")
    assert refused.value.field == str(catalog.root / "xgboost" / "algorithm.json")
    assert needle in refused.value.message, refused.value.message
