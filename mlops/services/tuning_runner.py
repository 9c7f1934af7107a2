"""The tuning job runner: ``python -m mlops.services.tuning_runner TUNING_JOB_FOLDER``.

Started detached (its own session) by ``start_tuning_job``, so a tuning job lives on whatever happens
to the CLI or the Airflow worker that asked for it. It keeps MaxParallelTrainingJobs training jobs
running on the training runtime, feeds each job's intermediate objective values to the stopping rule
(Hyperband, or the median rule of early stopping Auto), hands finished jobs to the search strategy,
and writes the DescribeHyperParameterTuningJob record after every change.
"""

from __future__ import annotations

import hashlib
import math
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.algorithm import ObjectiveType
from mlops.core.clock import utcnow
from mlops.core.training import TrainingJob, TrainingJobRequest, TrainingJobStatus
from mlops.core.tuning import FinalHyperParameterTuningJobObjectiveMetric, HyperParameterTrainingJobSummary
from mlops.core.tuning_job import (
    HyperParameterTuningJobStatus,
    ObjectiveStatusCounters,
    TrainingJobStatusCounters,
    TuningJob,
    TuningJobRequest,
)
from mlops.runtime.interface import TrainingRuntime
from mlops.services.catalog import algorithm_catalog
from mlops.tuning.factory import create_stopping_rule, create_strategy
from mlops.tuning.job_store import TuningJobStore
from mlops.tuning.plot import convergence_plot
from mlops.tuning.strategy import Observation, SearchStrategy, StoppingRule, Suggestion

POLL_SECONDS = 0.3
_STOPPING = HyperParameterTuningJobStatus.Stopping


@dataclass
class _Running:
    suggestion: Suggestion
    name: str
    seen: int = 0
    stopped_early: bool = False
    points: list[tuple[int, float]] = field(default_factory=list)


def training_job_name(tuning_name: str, index: int, hyperparameters: dict[str, str]) -> str:
    digest = hashlib.sha256(repr(sorted(hyperparameters.items())).encode()).hexdigest()[:8]
    return f"{tuning_name[:50]}-{index:03d}-{digest}"


class TuningRunner:
    def __init__(
        self,
        store: TuningJobStore,
        name: str,
        runtime: TrainingRuntime,
        catalog: AlgorithmCatalog,
        parents: list[TuningJob] | None = None,
    ) -> None:
        self.store = store
        self.request: TuningJobRequest = store.request(name)
        self.job = store.load(name)
        self.runtime = runtime
        self.catalog = catalog
        self.config = self.request.HyperParameterTuningJobConfig
        self.objective = self.config.HyperParameterTuningJobObjective
        algorithm = self.request.TrainingJobDefinition.AlgorithmSpecification.AlgorithmName
        resource = catalog.get(algorithm).TuningResourceHyperParameter if algorithm else None
        parent_jobs = [s for p in (parents or []) for s in p.TrainingJobSummaries]
        self.strategy: SearchStrategy = create_strategy(
            self.config,
            warm_start=self.request.WarmStartConfig,
            parent_jobs=parent_jobs,
            resource_hyperparameter=resource,
        )
        self.stopping: StoppingRule | None = create_stopping_rule(self.config, self.strategy)
        self.stop_requested = threading.Event()
        self.running: dict[str, _Running] = {}
        self.summaries: list[HyperParameterTrainingJobSummary] = []
        self.reasons: list[str] = []
        self.launched = 0

    # -- decisions ---------------------------------------------------------------------------
    def _better(self, a: float, b: float) -> bool:
        return a > b if self.objective.Type is ObjectiveType.Maximize else a < b

    def _best(self) -> HyperParameterTrainingJobSummary | None:
        best = None
        for s in self.summaries:
            m = s.FinalHyperParameterTuningJobObjectiveMetric
            if m is None:
                continue
            current = best.FinalHyperParameterTuningJobObjectiveMetric if best else None
            if current is None or self._better(m.Value, current.Value):
                best = s
        return best

    def _target_reached(self) -> bool:
        criteria = self.config.TuningJobCompletionCriteria
        best = self._best()
        if criteria is None or best is None or best.FinalHyperParameterTuningJobObjectiveMetric is None:
            return False
        value = best.FinalHyperParameterTuningJobObjectiveMetric.Value
        target = criteria.TargetObjectiveMetricValue
        return value >= target if self.objective.Type is ObjectiveType.Maximize else value <= target

    def _may_launch(self, deadline: float | None) -> int:
        limits = self.config.ResourceLimits
        if self.stop_requested.is_set() or self._target_reached() or self.strategy.exhausted:
            return 0
        if deadline is not None and time.monotonic() > deadline:
            return 0
        free = limits.MaxParallelTrainingJobs - len(self.running)
        if limits.MaxNumberOfTrainingJobs is not None:
            free = min(free, limits.MaxNumberOfTrainingJobs - self.launched)
        return max(0, free)

    # -- training jobs -----------------------------------------------------------------------
    def _launch(self, suggestion: Suggestion) -> None:
        definition = self.request.TrainingJobDefinition
        hyperparameters = {**definition.StaticHyperParameters, **suggestion.hyperparameters}
        self.launched += 1
        name = training_job_name(self.job.HyperParameterTuningJobName, self.launched, hyperparameters)
        request = TrainingJobRequest(
            TrainingJobName=name,
            AlgorithmSpecification=definition.AlgorithmSpecification,
            HyperParameters=hyperparameters,
            InputDataConfig=definition.InputDataConfig,
            OutputDataConfig=definition.OutputDataConfig,
            ResourceConfig=definition.ResourceConfig,
            StoppingCondition=definition.StoppingCondition,
            Environment=definition.Environment,
            Tags=({"Key": "HyperParameterTuningJobName", "Value": self.job.HyperParameterTuningJobName},),
        )
        self.runtime.create_training_job(request)
        self.running[suggestion.id] = _Running(suggestion, name)

    def _follow(self, run: _Running) -> TrainingJob | None:
        history = [m for m in self.runtime.metric_history(run.name) if m.MetricName == self.objective.MetricName]
        for point in history[run.seen :]:
            step = point.Step if point.Step is not None else len(run.points)
            run.points.append((step, point.Value))
            if (
                self.stopping is not None
                and not run.stopped_early
                and self.stopping.should_stop(run.suggestion.id, step, point.Value)
            ):
                run.stopped_early = True
                try:
                    self.runtime.stop_training_job(run.name)
                except Exception as e:  # it may have just finished
                    print(f"could not stop {run.name}: {e}", flush=True)
        run.seen = len(history)
        job = self.runtime.describe_training_job(run.name)
        return job if job.TrainingJobStatus.terminal else None

    def _finish(self, run: _Running, job: TrainingJob) -> None:
        value: float | None = job.final_metrics.get(self.objective.MetricName)
        if job.TrainingJobStatus is TrainingJobStatus.Stopped and run.points:
            values = [v for _, v in run.points if math.isfinite(v)]
            if values:  # a stopped job's best value still counts
                value = max(values) if self.objective.Type is ObjectiveType.Maximize else min(values)
        if job.TrainingJobStatus is TrainingJobStatus.Failed:
            value = None
            self.reasons.append(f"{job.TrainingJobName}: {job.FailureReason}")
        observation = Observation(
            suggestion_id=run.suggestion.id,
            value=value,
            stopped_early=run.stopped_early,
            intermediate_values=tuple(run.points),
        )
        self.strategy.observe(observation)
        if self.stopping is not None and self.stopping is not self.strategy:  # type: ignore[comparison-overlap]
            self.stopping.observe(observation)
        metric = (
            None
            if value is None
            else FinalHyperParameterTuningJobObjectiveMetric(
                Type=self.objective.Type, MetricName=self.objective.MetricName, Value=value
            )
        )
        self.summaries.append(
            HyperParameterTrainingJobSummary(
                TrainingJobName=job.TrainingJobName,
                TrainingJobStatus=job.TrainingJobStatus,
                TunedHyperParameters=run.suggestion.hyperparameters,
                FinalHyperParameterTuningJobObjectiveMetric=metric,
            )
        )

    # -- the record --------------------------------------------------------------------------
    def _save(self, status: HyperParameterTuningJobStatus, **fields: object) -> None:
        counts = {s: 0 for s in ("Completed", "Stopped", "Failed")}
        for s in self.summaries:
            counts[s.TrainingJobStatus.value] = counts.get(s.TrainingJobStatus.value, 0) + 1
        succeeded = sum(1 for s in self.summaries if s.FinalHyperParameterTuningJobObjectiveMetric is not None)
        update: dict[str, object] = {
            "HyperParameterTuningJobStatus": status,
            "TrainingJobStatusCounters": TrainingJobStatusCounters(
                Completed=counts["Completed"],
                InProgress=len(self.running),
                Stopped=counts["Stopped"],
                NonRetryableError=counts["Failed"],
            ),
            "ObjectiveStatusCounters": ObjectiveStatusCounters(
                Succeeded=succeeded, Pending=len(self.running), Failed=len(self.summaries) - succeeded
            ),
            "BestTrainingJob": self._best(),
            "TrainingJobSummaries": tuple(self.summaries),
            "LastModifiedTime": utcnow(),
            **fields,
        }
        self.job = self.store.save(self.job.model_copy(update=update))

    def _running_status(self) -> HyperParameterTuningJobStatus:
        return _STOPPING if self.stop_requested.is_set() else HyperParameterTuningJobStatus.InProgress

    def run(self) -> TuningJob:
        limits = self.config.ResourceLimits
        deadline = time.monotonic() + limits.MaxRuntimeInSeconds if limits.MaxRuntimeInSeconds else None
        while True:
            free = self._may_launch(deadline)
            if free:
                for suggestion in self.strategy.suggest(free):
                    self._launch(suggestion)
                self._save(self._running_status())
            ending = (
                self.stop_requested.is_set()
                or self._target_reached()
                or (deadline is not None and time.monotonic() > deadline)
            )
            if self.stop_requested.is_set() and self.job.HyperParameterTuningJobStatus is not _STOPPING:
                self._save(_STOPPING)  # at once: StopHyperParameterTuningJob answers when the job is Stopping
            changed = False
            for sid, run in list(self.running.items()):
                if ending and not run.stopped_early:
                    run.stopped_early = True
                    try:
                        self.runtime.stop_training_job(run.name)
                    except Exception as e:
                        print(f"could not stop {run.name}: {e}", flush=True)
                job = self._follow(run)
                if job is not None:
                    del self.running[sid]
                    self._finish(run, job)
                    changed = True
            if changed:
                self._save(self._running_status())
            if not self.running and not self._may_launch(deadline):
                break
            time.sleep(POLL_SECONDS)
        return self._close()

    def _failure_reason(self) -> str | None:
        """Why the search produced nothing to choose from, or None when some job gave the objective."""
        if not self.summaries or self._best() is not None:
            return None
        if all(s.TrainingJobStatus is TrainingJobStatus.Failed for s in self.summaries):
            return "every training job failed: " + " | ".join(self.reasons)[:2000]
        return (
            f"no training job reported the objective metric {self.objective.MetricName!r} "
            f"({len(self.summaries)} ran; check that the algorithm emits it for the channels given)"
        )

    def _close(self) -> TuningJob:
        plot = convergence_plot(self.job, self.store.folder(self.job.HyperParameterTuningJobName) / "convergence.png")
        reason = self._failure_reason()
        if self.stop_requested.is_set():
            status = HyperParameterTuningJobStatus.Stopped
        elif reason is not None:
            status = HyperParameterTuningJobStatus.Failed
        else:
            status = HyperParameterTuningJobStatus.Completed
        self._save(status, HyperParameterTuningEndTime=utcnow(), ConvergencePlot=str(plot), FailureReason=reason)
        return self.job


def main(argv: list[str] | None = None) -> int:
    from mlops.services.runtimes import training_runtime
    from mlops.settings import load_settings

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m mlops.services.tuning_runner TUNING_JOB_FOLDER", file=sys.stderr)
        return 2
    folder = Path(args[0])
    settings = load_settings()
    store = TuningJobStore(folder.parent)
    request = store.request(folder.name)
    parents = []
    if request.WarmStartConfig is not None:
        parents = [
            store.load(p.HyperParameterTuningJobName) for p in request.WarmStartConfig.ParentHyperParameterTuningJobs
        ]
    runner = TuningRunner(
        store,
        folder.name,
        training_runtime(settings, request.RuntimeName),
        algorithm_catalog(settings),
        parents,
    )
    signal.signal(signal.SIGTERM, lambda *_: runner.stop_requested.set())
    signal.signal(signal.SIGINT, lambda *_: runner.stop_requested.set())
    job = runner.run()
    return 0 if job.HyperParameterTuningJobStatus is not HyperParameterTuningJobStatus.Failed else 1


if __name__ == "__main__":
    sys.exit(main())
