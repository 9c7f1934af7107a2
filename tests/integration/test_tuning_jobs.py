"""Tuning jobs running real training jobs on the local runtime: strategies, parallelism, early stopping,
Hyperband, target value, failures, warm start and the bad inputs refused up front."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.cli.tuning import parse_ranges
from mlops.core.errors import NotFoundError, ValidationError
from mlops.core.training import TrainingJobStatus
from mlops.core.tuning import (
    HyperbandStrategyConfig,
    HyperParameterTuningJobConfig,
    HyperParameterTuningJobObjective,
    HyperParameterTuningJobStrategyConfig,
    HyperParameterTuningJobWarmStartConfig,
    ObjectiveType,
    ParentHyperParameterTuningJob,
    ResourceLimits,
    TuningJobCompletionCriteria,
    WarmStartType,
)
from mlops.core.tuning_job import HyperParameterTuningJobStatus, TuningJob
from mlops.data.churn_sample import DemoFiles
from mlops.runtime.local_process import LocalProcessRuntime
from mlops.services.tuning import TuningInput, build_tuning_request, start_tuning_job, wait_tuning_job
from mlops.settings import Settings, settings_environment
from mlops.tuning.job_store import TuningJobStore
from tests.conftest import FIXTURE_ALGORITHMS

SCORE = HyperParameterTuningJobObjective(Type=ObjectiveType.Maximize, MetricName="validation:score")


@pytest.fixture
def curve_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", algorithms_dir=FIXTURE_ALGORITHMS, stop_grace_seconds=5)


def _tune(settings: Settings, name: str, config: HyperParameterTuningJobConfig, algorithm: str = "curve",
          channels: dict[str, str] | None = None, static: dict[str, str] | None = None,
          warm: HyperParameterTuningJobWarmStartConfig | None = None) -> TuningJob:
    catalog = AlgorithmCatalog(settings.algorithms_dir)
    request = build_tuning_request(catalog, TuningInput(
        name=name, algorithm=algorithm, channels=channels or {}, config=config, static_hyperparameters=static or {},
        warm_start=warm), settings.artifacts)
    store = TuningJobStore(settings.home / "tuning-jobs")
    start_tuning_job(store, request, settings_environment(settings))
    return wait_tuning_job(store, name)


def _config(strategy: str = "Random", jobs: int = 6, parallel: int = 2, ranges: str = "quality=0.1:10",
            **extra: object) -> HyperParameterTuningJobConfig:
    return HyperParameterTuningJobConfig(
        Strategy=strategy, HyperParameterTuningJobObjective=SCORE,
        ResourceLimits=ResourceLimits(MaxNumberOfTrainingJobs=jobs, MaxParallelTrainingJobs=parallel),
        ParameterRanges=parse_ranges(ranges.split()), RandomSeed=3, **extra)


def test_bayesian_xgboost_tuning_job(tmp_path: Path, churn: DemoFiles) -> None:
    settings = Settings(home=tmp_path / "home")
    config = HyperParameterTuningJobConfig(
        HyperParameterTuningJobObjective=HyperParameterTuningJobObjective(Type="Maximize", MetricName="validation:auc"),
        ResourceLimits=ResourceLimits(MaxNumberOfTrainingJobs=4, MaxParallelTrainingJobs=2),
        ParameterRanges=parse_ranges(["eta=0.05:0.5:log", "max_depth=2:6:int", "objective=binary:logistic,binary:hinge"]),
        RandomSeed=1)
    job = _tune(settings, "xgb-bayes", config, "xgboost", {"train": str(churn.train), "validation": str(churn.validation)},
                {"num_round": "15", "nthread": "1"})
    assert job.HyperParameterTuningJobStatus is HyperParameterTuningJobStatus.Completed
    assert job.TrainingJobStatusCounters.Completed == 4 and job.ObjectiveStatusCounters.Succeeded == 4
    best = job.BestTrainingJob
    assert best is not None and best.FinalHyperParameterTuningJobObjectiveMetric is not None
    values = [s.FinalHyperParameterTuningJobObjectiveMetric.Value for s in job.TrainingJobSummaries]  # type: ignore[union-attr]
    assert best.FinalHyperParameterTuningJobObjectiveMetric.Value == max(values)
    assert set(best.TunedHyperParameters) == {"eta", "max_depth", "objective"}
    assert Path(job.ConvergencePlot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # type: ignore[arg-type]
    # the training jobs are real jobs of the runtime, and two ran at the same time
    runtime = LocalProcessRuntime(settings.jobs_dir, AlgorithmCatalog(settings.algorithms_dir))
    jobs = [runtime.describe_training_job(s.TrainingJobName) for s in job.TrainingJobSummaries]
    assert all(j.HyperParameters["num_round"] == "15" for j in jobs)
    spans = sorted((j.TrainingStartTime, j.TrainingEndTime) for j in jobs)
    assert any(b[0] < a[1] for a, b in itertools.pairwise(spans)), "no two training jobs overlapped"


def test_failed_jobs_do_not_end_the_search_but_all_failing_does(curve_settings: Settings) -> None:
    job = _tune(curve_settings, "some-fail", _config(ranges="quality=0.1:10 fail=true,false", jobs=6))
    assert job.HyperParameterTuningJobStatus is HyperParameterTuningJobStatus.Completed
    assert job.TrainingJobStatusCounters.NonRetryableError + job.TrainingJobStatusCounters.Completed == 6
    all_fail = _tune(curve_settings, "all-fail", _config(ranges="quality=0.1:10", jobs=3), static={"fail": "true"})
    assert all_fail.HyperParameterTuningJobStatus is HyperParameterTuningJobStatus.Failed
    assert "asked to fail (fail=true)" in (all_fail.FailureReason or "")
    assert all_fail.BestTrainingJob is None


def test_no_job_reporting_the_objective_fails_with_a_reason(curve_settings: Settings) -> None:
    job = _tune(curve_settings, "silent", _config(ranges="quality=0.1:10", jobs=2), static={"silent": "true"})
    assert job.HyperParameterTuningJobStatus is HyperParameterTuningJobStatus.Failed
    assert job.TrainingJobStatusCounters.Completed == 2
    assert job.ObjectiveStatusCounters.Failed == 2
    assert "no training job reported the objective metric 'validation:score'" in (job.FailureReason or "")
    assert job.BestTrainingJob is None


def test_objective_on_a_channel_not_given_is_refused_up_front(tmp_path: Path, churn: DemoFiles) -> None:
    settings = Settings(home=tmp_path / "home")
    config = HyperParameterTuningJobConfig(
        HyperParameterTuningJobObjective=HyperParameterTuningJobObjective(Type="Maximize", MetricName="validation:auc"),
        ResourceLimits=ResourceLimits(MaxNumberOfTrainingJobs=2, MaxParallelTrainingJobs=1),
        ParameterRanges=parse_ranges(["eta=0.1:0.5"]))
    with pytest.raises(ValidationError) as info:
        build_tuning_request(AlgorithmCatalog(settings.algorithms_dir), TuningInput(
            name="no-validation", algorithm="xgboost", channels={"train": str(churn.train)}, config=config,
            static_hyperparameters={"num_round": "5"}), settings.artifacts)
    assert info.value.field == "objective"
    assert "'validation' channel, which is not given (channels given: train)" in str(info.value)
    assert not (settings.home / "tuning-jobs").exists()


def test_early_stopping_auto_stops_jobs_worse_than_the_median(curve_settings: Settings) -> None:
    config = _config(jobs=10, parallel=1, TrainingJobEarlyStoppingType="Auto")
    job = _tune(curve_settings, "median", config, static={"steps": "20", "pace": "0.05"})
    stopped = [s for s in job.TrainingJobSummaries if s.TrainingJobStatus is TrainingJobStatus.Stopped]
    assert stopped, "the median rule stopped nothing"
    assert job.TrainingJobStatusCounters.Stopped == len(stopped)
    for s in stopped:  # a stopped job's best value still counts
        assert s.FinalHyperParameterTuningJobObjectiveMetric is not None


def test_hyperband_stops_the_losers(curve_settings: Settings) -> None:
    config = _config(strategy="Hyperband", jobs=9, parallel=3, StrategyConfig=HyperParameterTuningJobStrategyConfig(
        HyperbandStrategyConfig=HyperbandStrategyConfig(MinResource=2, MaxResource=18)))
    job = _tune(curve_settings, "hyperband", config, static={"pace": "0.05"})
    assert job.HyperParameterTuningJobStatus is HyperParameterTuningJobStatus.Completed
    assert job.TrainingJobStatusCounters.Stopped >= 1
    assert job.BestTrainingJob is not None


def test_target_value_ends_the_search_early(curve_settings: Settings) -> None:
    config = _config(jobs=20, parallel=1,
                     TuningJobCompletionCriteria=TuningJobCompletionCriteria(TargetObjectiveMetricValue=1.0))
    job = _tune(curve_settings, "target", config, static={"steps": "5", "pace": "0"})
    assert len(job.TrainingJobSummaries) < 20
    assert job.BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value >= 1.0  # type: ignore[union-attr]


def test_wall_clock_limit(curve_settings: Settings) -> None:
    config = _config(jobs=50, parallel=1)
    config = config.model_copy(update={"ResourceLimits": ResourceLimits(
        MaxNumberOfTrainingJobs=50, MaxParallelTrainingJobs=1, MaxRuntimeInSeconds=4)})
    job = _tune(curve_settings, "clock", config, static={"steps": "10", "pace": "0.2"})
    assert len(job.TrainingJobSummaries) < 50
    assert job.HyperParameterTuningEndTime - job.CreationTime < timedelta(seconds=30)  # type: ignore[operator]


def test_warm_start_from_a_parent(curve_settings: Settings) -> None:
    _tune(curve_settings, "parent", _config(strategy="Bayesian", jobs=4), static={"steps": "3", "pace": "0"})
    warm = HyperParameterTuningJobWarmStartConfig(
        ParentHyperParameterTuningJobs=(ParentHyperParameterTuningJob(HyperParameterTuningJobName="parent"),),
        WarmStartType=WarmStartType.IdenticalDataAndAlgorithm)
    child = _tune(curve_settings, "child", _config(strategy="Bayesian", jobs=3), static={"steps": "3", "pace": "0"},
                  warm=warm)
    assert child.HyperParameterTuningJobStatus is HyperParameterTuningJobStatus.Completed
    assert child.WarmStartConfig == warm
    with pytest.raises(NotFoundError, match="tuning job 'nobody' not found"):
        _tune(curve_settings, "orphan", _config(strategy="Bayesian", jobs=2), warm=warm.model_copy(update={
            "ParentHyperParameterTuningJobs": (ParentHyperParameterTuningJob(HyperParameterTuningJobName="nobody"),)}))


@pytest.mark.parametrize(("ranges", "objective", "limits", "needle"), [
    ("quality=1:10", "validation:nope", (4, 1), "objective: 'validation:nope' is not a metric that curve emits"),
    ("qualty=1:10", "validation:score", (4, 1), "hyperparameter qualty: unknown to algorithm 'curve'; did you mean 'quality'?"),
    ("quality=1:20", "validation:score", (4, 1), "range quality: bound '20' is not valid"),
    ("quality=0:10:log", "validation:score", (4, 1), "quality"),
    ("quality=5:1", "validation:score", (4, 1), "quality"),
    ("quality=1:10", "validation:score", (2, 4), "MaxParallelTrainingJobs"),
])
def test_bad_input_refused_up_front(curve_settings: Settings, ranges: str, objective: str,
                                    limits: tuple[int, int], needle: str) -> None:
    with pytest.raises(ValidationError) as info:
        config = HyperParameterTuningJobConfig(
            HyperParameterTuningJobObjective=HyperParameterTuningJobObjective(Type="Maximize", MetricName=objective),
            ResourceLimits=ResourceLimits(MaxNumberOfTrainingJobs=limits[0], MaxParallelTrainingJobs=limits[1]),
            ParameterRanges=parse_ranges(ranges.split()))
        build_tuning_request(AlgorithmCatalog(curve_settings.algorithms_dir),
                             TuningInput(name="bad", algorithm="curve", channels={}, config=config),
                             curve_settings.artifacts)
    assert needle in str(info.value)
    assert not (curve_settings.home / "tuning-jobs").exists()


def test_a_tuning_job_whose_runner_died_ends_failed_with_the_reason(curve_settings: Settings) -> None:
    import json
    import os
    import signal
    import threading
    import time

    from mlops.services.tuning import RUNNER_DIED

    catalog = AlgorithmCatalog(curve_settings.algorithms_dir)
    request = build_tuning_request(catalog, TuningInput(
        name="orphan", algorithm="curve", channels={}, config=_config(jobs=20, parallel=1),
        static_hyperparameters={"steps": "50", "pace": "0.2"}), curve_settings.artifacts)  # fmt: skip
    store = TuningJobStore(curve_settings.paths.tuning_jobs)
    start_tuning_job(store, request, settings_environment(curve_settings))
    pid = json.loads((store.folder("orphan") / "runner.json").read_text())["pid"]
    time.sleep(1.0)
    os.kill(pid, signal.SIGKILL)  # the runner dies without a word (OOM killer, kill -9)
    ended: list[TuningJob] = []
    waiter = threading.Thread(target=lambda: ended.append(wait_tuning_job(store, "orphan", poll_seconds=0.1)))
    waiter.start()
    waiter.join(timeout=30)
    assert ended, "waiting on a tuning job whose runner died never returned"
    (job,) = ended
    assert job.HyperParameterTuningJobStatus is HyperParameterTuningJobStatus.Failed
    assert job.FailureReason == RUNNER_DIED and job.HyperParameterTuningEndTime is not None
    assert store.load("orphan").HyperParameterTuningJobStatus is HyperParameterTuningJobStatus.Failed  # recorded
    runtime = LocalProcessRuntime(curve_settings.jobs_dir, catalog)
    for training_job in runtime.list_training_jobs():  # what it had started runs on to its own end: end it here
        if not training_job.TrainingJobStatus.terminal:
            runtime.stop_training_job(training_job.TrainingJobName)
            runtime.wait(training_job.TrainingJobName)
