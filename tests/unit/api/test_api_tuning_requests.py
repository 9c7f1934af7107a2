"""The tuning API's pure mapping: wire ranges, objectives and limits to records, refusals naming the field,
the wire names of use-case errors and the orders of a tuning job's training jobs."""

from __future__ import annotations

import pytest

from mlops.api.errors import ApiError
from mlops.api.tuning import completion, limits, objective, parameter_ranges, sort_training_jobs, wire_field
from mlops.core.tuning import ObjectiveType, ScalingType


def test_wire_ranges_become_records() -> None:
    ranges = parameter_ranges(
        {
            "ContinuousParameterRanges": [
                {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"}
            ],
            "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "8"}],
            "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
        }
    )
    assert ranges.names() == ("eta", "max_depth", "booster")
    assert ranges.ContinuousParameterRanges[0].ScalingType is ScalingType.Logarithmic
    assert ranges.IntegerParameterRanges[0].ScalingType is ScalingType.Auto


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        (
            {"ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.5", "MaxValue": "0.1"}]},
            "ParameterRanges.ContinuousParameterRanges[0] (Name eta): range is inverted",
        ),
        (
            {"IntegerParameterRanges": [{"Name": "d", "MinValue": "1.5", "MaxValue": "3"}]},
            "ParameterRanges.IntegerParameterRanges[0] (Name d): '1.5' is not an integer",
        ),
        (
            {"CategoricalParameterRanges": [{"Name": "b", "Values": ["x", "x"]}]},
            "ParameterRanges.CategoricalParameterRanges[0] (Name b)",
        ),
        ({"AutoParameters": [{"Name": "eta", "ValueHint": "0.1"}]}, "ParameterRanges.AutoParameters"),
        ({}, "ParameterRanges: give at least one range"),
        (
            {
                "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0.1", "MaxValue": "0.2"}],
                "CategoricalParameterRanges": [{"Name": "eta", "Values": ["1"]}],
            },
            "ParameterRanges: the name appears in more than one range",
        ),
    ],
)
def test_bad_ranges_are_refused_naming_the_range(wire: dict, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ApiError) as e:
        parameter_ranges(wire)
    assert e.value.code == "ValidationException"
    assert field in e.value.message and e.value.message.startswith("HyperParameterTuningJobConfig.")


def test_objective_limits_and_completion() -> None:
    assert objective({"Type": "Minimize", "MetricName": "validation:rmse"}).Type is ObjectiveType.Minimize
    with pytest.raises(ApiError, match=r"HyperParameterTuningJobObjective\.Type: 'Up' is not one of"):
        objective({"Type": "Up", "MetricName": "m"})
    with pytest.raises(ApiError, match="HyperParameterTuningJobObjective: the local tuner needs the objective"):
        objective(None)
    with pytest.raises(ApiError, match=r"ResourceLimits\.MaxParallelTrainingJobs: 3 exceeds MaxNumberOfTrainingJobs"):
        limits({"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 3})
    assert completion(None) is None
    assert completion({"TargetObjectiveMetricValue": 0.9}).TargetObjectiveMetricValue == 0.9  # type: ignore[union-attr]
    with pytest.raises(ApiError, match=r"TuningJobCompletionCriteria\.BestObjectiveNotImproving"):
        completion({"BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 3}})


def test_use_case_fields_get_their_wire_names() -> None:
    tuned = ("eta",)
    assert wire_field("objective", tuned) == "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName"
    assert wire_field("hyperparameter eta", tuned) == "HyperParameterTuningJobConfig.ParameterRanges (Name eta)"
    assert wire_field("range eta", tuned) == "HyperParameterTuningJobConfig.ParameterRanges (Name eta)"
    assert wire_field("hyperparameter nround", tuned) == "TrainingJobDefinition.StaticHyperParameters.nround"
    assert wire_field("channel train", tuned) == "TrainingJobDefinition.InputDataConfig (ChannelName train)"
    assert wire_field("tuning job name", tuned) == "HyperParameterTuningJobName"


def _row(name: str, status: str, value: float | None) -> dict:  # type: ignore[type-arg]
    metric = None if value is None else {"MetricName": "validation:auc", "Value": value}
    return {
        "TrainingJobName": name,
        "CreationTime": name,
        "TrainingJobStatus": status,
        "FinalHyperParameterTuningJobObjectiveMetric": metric,
    }


def test_training_jobs_sort_as_sagemaker_sorts_them() -> None:
    rows = [_row("b", "Completed", 0.7), _row("a", "Failed", None), _row("c", "Stopped", 0.9)]
    by_value = sort_training_jobs(rows, "FinalObjectiveMetricValue", "Descending")
    assert [r["TrainingJobName"] for r in by_value] == ["c", "b"]  # no objective: not listed
    assert [r["TrainingJobName"] for r in sort_training_jobs(rows, "Name", "Ascending")] == ["a", "b", "c"]
    assert [r["TrainingJobName"] for r in sort_training_jobs(rows, "Status", "Descending")] == ["c", "a", "b"]
    with pytest.raises(ApiError, match="SortBy: 'Value' is not one of"):
        sort_training_jobs(rows, "Value", "Ascending")
