"""Bayesmark-style benchmark of the tuning strategies against Optuna's TPE, run by hand.

For each problem and seed it runs our Bayesian optimisation, our random search, our Hyperband (on the
problems with a training resource) and Optuna's ``TPESampler`` (seeded, same budget), one evaluation at a
time, and prints Bayesmark's normalised score at 10, 20 and 30 evaluations::

    score = (best-so-far - optimum) / (random's best-so-far at the full budget - optimum)

on losses (maximised objectives negated), so 0 is the optimum, 1 is random search's result at the full
budget, and lower is better. As in Bayesmark, "random's best-so-far at the full budget" is its mean over
the seeds. Branin and Hartmann-6 have known optima; for the ML problems the optimum is the best value any
method found in any seed of this run.

ML problems (scikit-learn's bundled datasets, one fixed seeded 70/30 split, trained in-process, nthread=1,
kept small so the whole run takes minutes): xgboost (100 rounds, 64 histogram bins) on breast_cancer (validation AUC), diabetes (validation RMSE) and wine (validation
multi-class log loss, as accuracy on 54 rows is too coarse to rank configurations), and an SGD linear
classifier (10 epochs) on digits (validation accuracy) as the linear-model stand-in.

Hyperband's resource is the boosting round: max_resource 100 (the full job), eta 3, min_resource 3, which
gives Li et al.'s four brackets with rungs at 4, 11, 33 and 100 rounds (an ensemble of one or two trees
says little about the final model: after one tree the AUC does not even depend on the learning rate). A Hyperband
"evaluation" is a job, stopped early or not. The resource study runs Hyperband until it has trained as many
rounds as random search did over its whole budget, and reports how many rounds it needed to first match
random's final objective.

    python benchmarks/tuning_bayesmark.py --seeds 10 --budget 30
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import xgboost as xgb
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from mlops.core.algorithm import ObjectiveType
from mlops.core.tuning import (
    CategoricalParameterRange,
    ContinuousParameterRange,
    HyperParameterTuningJobObjective,
    IntegerParameterRange,
    ParameterRanges,
    ScalingType,
)
from mlops.tuning.bayesian import BayesianOptimization
from mlops.tuning.hyperband import Hyperband
from mlops.tuning.random_search import RandomSearch
from mlops.tuning.space import Kind, SearchSpace, format_number
from mlops.tuning.strategy import Observation, SearchStrategy

RESULTS = Path(__file__).resolve().parent / "results"
CHECKPOINTS = (10, 20, 30)
METHODS = ("bayesian", "tpe", "random", "hyperband")

StopAsk = Callable[[int, float], bool]


@dataclass
class Problem:
    name: str
    ranges: ParameterRanges
    direction: ObjectiveType
    evaluate: Callable[[dict[str, str], StopAsk | None], tuple[float, int]]
    """Returns (final value, steps trained); the callback (step, value) -> stop? is Hyperband's."""
    optimum: float | None = None
    max_resource: int | None = None
    min_resource: int = 1

    @property
    def objective(self) -> HyperParameterTuningJobObjective:
        return HyperParameterTuningJobObjective(Type=self.direction, MetricName="objective")

    def loss(self, value: float) -> float:
        return value if self.direction is ObjectiveType.Minimize else -value


def _continuous(name: str, low: float, high: float) -> ContinuousParameterRange:
    return ContinuousParameterRange(Name=name, MinValue=str(low), MaxValue=str(high))


# ----------------------------------------------------------------------------------- synthetic problems
def _branin(hp: dict[str, str], _: StopAsk | None) -> tuple[float, int]:
    x1, x2 = float(hp["x1"]), float(hp["x2"])
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10, 1


_H_A = np.array(
    [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
)
_H_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def _hartmann6(hp: dict[str, str], _: StopAsk | None) -> tuple[float, int]:
    x = np.array([float(hp[f"x{i}"]) for i in range(6)])
    return float(-np.sum(_H_ALPHA * np.exp(-np.sum(_H_A * (x - _H_P) ** 2, axis=1)))), 1


def branin() -> Problem:
    ranges = ParameterRanges(ContinuousParameterRanges=(_continuous("x1", -5, 10), _continuous("x2", 0, 15)))
    return Problem("branin", ranges, ObjectiveType.Minimize, _branin, optimum=0.397887)


def hartmann6() -> Problem:
    ranges = ParameterRanges(ContinuousParameterRanges=tuple(_continuous(f"x{i}", 0, 1) for i in range(6)))
    return Problem("hartmann6", ranges, ObjectiveType.Minimize, _hartmann6, optimum=-3.32237)


# ---------------------------------------------------------------------------------------- xgboost
XGB_ROUNDS = 100
XGB_RANGES = ParameterRanges(
    ContinuousParameterRanges=(
        _continuous("eta", 0.01, 1.0),
        _continuous("min_child_weight", 0.1, 20.0),
        _continuous("subsample", 0.5, 1.0),
        _continuous("colsample_bytree", 0.3, 1.0),
        _continuous("lambda", 0.001, 100.0),
    ),
    IntegerParameterRanges=(IntegerParameterRange(Name="max_depth", MinValue="1", MaxValue="10"),),
)


class _AskEachRound(xgb.callback.TrainingCallback):
    def __init__(self, metric: str, ask: StopAsk) -> None:
        self.metric, self.ask = metric, ask

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        return self.ask(epoch + 1, float(evals_log["val"][self.metric][-1]))


def xgboost_problem(name: str, loader: Callable[..., Any], task: str) -> Problem:
    x, y = loader(return_X_y=True)
    stratify = None if task == "regression" else y
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.3, random_state=0, stratify=stratify)
    d_train, d_val = xgb.DMatrix(x_train, label=y_train), xgb.DMatrix(x_val, label=y_val)
    base: dict[str, Any] = {"nthread": 1, "seed": 0, "verbosity": 0, "max_bin": 64}
    if task == "binary":
        base |= {"objective": "binary:logistic", "eval_metric": "auc"}
        direction, metric = ObjectiveType.Maximize, "auc"
    elif task == "regression":
        base |= {"objective": "reg:squarederror", "eval_metric": "rmse"}
        direction, metric = ObjectiveType.Minimize, "rmse"
    else:
        base |= {"objective": "multi:softprob", "eval_metric": "mlogloss", "num_class": int(np.max(y)) + 1}
        direction, metric = ObjectiveType.Minimize, "mlogloss"

    def evaluate(hp: dict[str, str], ask: StopAsk | None) -> tuple[float, int]:
        params = base | {k: (int(v) if k == "max_depth" else float(v)) for k, v in hp.items()}
        log: dict[str, Any] = {}
        callbacks = [_AskEachRound(metric, ask)] if ask else None
        xgb.train(
            params,
            d_train,
            XGB_ROUNDS,
            evals=[(d_val, "val")],
            evals_result=log,
            verbose_eval=False,
            callbacks=callbacks,
        )
        values = log["val"][metric]
        return float(values[-1]), len(values)

    return Problem(name, XGB_RANGES, direction, evaluate, max_resource=XGB_ROUNDS, min_resource=3)


# ------------------------------------------------------------------------------------- linear model
def sgd_digits() -> Problem:
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    ranges = ParameterRanges(
        ContinuousParameterRanges=(
            _continuous("alpha", 1e-7, 1e-1),
            _continuous("eta0", 1e-4, 1.0),
            _continuous("l1_ratio", 0.0, 1.0),
        ),
        CategoricalParameterRanges=(
            CategoricalParameterRange(Name="loss", Values=("hinge", "log_loss", "modified_huber")),
            CategoricalParameterRange(Name="penalty", Values=("l2", "l1", "elasticnet")),
        ),
    )

    def evaluate(hp: dict[str, str], _: StopAsk | None) -> tuple[float, int]:
        model = SGDClassifier(
            loss=hp["loss"],
            penalty=hp["penalty"],
            alpha=float(hp["alpha"]),
            l1_ratio=float(hp["l1_ratio"]),
            learning_rate="invscaling",
            eta0=float(hp["eta0"]),
            max_iter=10,
            tol=None,
            random_state=0,
        )
        model.fit(x_train, y_train)
        return float(model.score(x_val, y_val)), 1

    return Problem("sgd_digits", ranges, ObjectiveType.Maximize, evaluate)


PROBLEMS: dict[str, Callable[[], Problem]] = {
    "branin": branin,
    "hartmann6": hartmann6,
    "xgb_breast_cancer": lambda: xgboost_problem("xgb_breast_cancer", load_breast_cancer, "binary"),
    "xgb_diabetes": lambda: xgboost_problem("xgb_diabetes", load_diabetes, "regression"),
    "xgb_wine": lambda: xgboost_problem("xgb_wine", load_wine, "multiclass"),
    "sgd_digits": sgd_digits,
}


# -------------------------------------------------------------------------------------------- runners
@dataclass
class Run:
    """One method on one problem and seed: the value and training resource of each job, in order."""

    values: list[float] = field(default_factory=list)
    resources: list[int] = field(default_factory=list)
    seconds: float = 0.0


def run_strategy(problem: Problem, strategy: SearchStrategy, budget: int) -> Run:
    run = Run()
    for _ in range(budget):
        (suggestion,) = strategy.suggest(1)
        value, steps = problem.evaluate(suggestion.hyperparameters, None)
        strategy.observe(Observation(suggestion_id=suggestion.id, value=value))
        run.values.append(value)
        run.resources.append(steps)
    return run


def _optuna_distributions(space: SearchSpace) -> dict[str, optuna.distributions.BaseDistribution]:
    out: dict[str, optuna.distributions.BaseDistribution] = {}
    for d in space.dimensions:
        log = d.scaling is ScalingType.Logarithmic
        if d.scaling is ScalingType.ReverseLogarithmic:
            raise ValueError(f"{d.name}: Optuna has no reverse-logarithmic scale")
        if d.kind is Kind.Categorical:
            out[d.name] = optuna.distributions.CategoricalDistribution(d.values)
        elif d.kind is Kind.Integer:
            out[d.name] = optuna.distributions.IntDistribution(int(d.low), int(d.high), log=log)
        else:
            out[d.name] = optuna.distributions.FloatDistribution(d.low, d.high, log=log)
    return out


def run_tpe(problem: Problem, seed: int, budget: int) -> Run:
    space = SearchSpace.from_ranges(problem.ranges)
    distributions = _optuna_distributions(space)
    direction = "minimize" if problem.direction is ObjectiveType.Minimize else "maximize"
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
    run = Run()
    for _ in range(budget):
        trial = study.ask(distributions)
        hp = {}
        for d in space.dimensions:
            v = trial.params[d.name]
            hp[d.name] = format_number(v) if d.kind is Kind.Continuous else str(v)
        value, steps = problem.evaluate(hp, None)
        study.tell(trial, value)
        run.values.append(value)
        run.resources.append(steps)
    return run


def run_hyperband(problem: Problem, seed: int, min_jobs: int, max_total_resource: int) -> Run:
    """Hyperband, one job at a time, until it ran ``min_jobs`` jobs and ``max_total_resource`` rounds."""
    assert problem.max_resource is not None
    strategy = Hyperband(
        problem.ranges, problem.objective, seed, min_resource=problem.min_resource, max_resource=problem.max_resource
    )
    run = Run()
    while len(run.values) < min_jobs or sum(run.resources) < max_total_resource:
        (suggestion,) = strategy.suggest(1)
        reported: list[tuple[int, float]] = []

        def ask(step: int, value: float, sid: str = suggestion.id, log: list[tuple[int, float]] = reported) -> bool:
            log.append((step, value))
            return strategy.should_stop(sid, step, value)

        value, steps = problem.evaluate(suggestion.hyperparameters, ask)
        stopped = steps < problem.max_resource
        strategy.observe(
            Observation(
                suggestion_id=suggestion.id, value=value, stopped_early=stopped, intermediate_values=tuple(reported)
            )
        )
        run.values.append(value)
        run.resources.append(steps)
    return run


def run_method(problem: Problem, method: str, seed: int, budget: int) -> Run | None:
    start = time.perf_counter()
    if method == "bayesian":
        run = run_strategy(problem, BayesianOptimization(problem.ranges, problem.objective, seed), budget)
    elif method == "random":
        run = run_strategy(problem, RandomSearch(problem.ranges, problem.objective, seed), budget)
    elif method == "tpe":
        run = run_tpe(problem, seed, budget)
    elif problem.max_resource is None:
        return None
    else:
        run = run_hyperband(problem, seed, budget, budget * problem.max_resource)
    run.seconds = time.perf_counter() - start
    return run


# ------------------------------------------------------------------------------------------- scoring
def best_so_far(problem: Problem, run: Run) -> np.ndarray:
    return np.minimum.accumulate([problem.loss(v) for v in run.values])


def score_problem(problem: Problem, runs: dict[str, list[Run]], budget: int) -> dict[str, Any]:
    curves = {m: [best_so_far(problem, r) for r in rs] for m, rs in runs.items()}
    if problem.optimum is not None:
        optimum = problem.loss(problem.optimum)
    else:
        optimum = min(float(c.min()) for cs in curves.values() for c in cs)
    baseline = float(np.mean([c[budget - 1] for c in curves["random"]]))
    scale = baseline - optimum
    scores: dict[str, dict[str, float]] = {}
    for method, cs in curves.items():
        scores[method] = {}
        for k in CHECKPOINTS:
            if k <= budget:
                per_seed = [(c[k - 1] - optimum) / scale if scale > 0 else math.nan for c in cs]
                scores[method][str(k)] = float(np.mean(per_seed))
    return {"optimum_loss": optimum, "random_baseline_loss": baseline, "scores": scores}


def resource_study(problem: Problem, runs: dict[str, list[Run]]) -> dict[str, Any] | None:
    """Rounds Hyperband needed to first match random's final best, against random's total rounds."""
    if "hyperband" not in runs or "random" not in runs:
        return None
    ratios: list[float] = []
    for random_run, hb_run in zip(runs["random"], runs["hyperband"], strict=True):
        target = float(best_so_far(problem, random_run)[-1])
        total = sum(random_run.resources)
        used, reached = 0, math.inf
        for value, steps in zip(hb_run.values, hb_run.resources, strict=True):
            used += steps
            if problem.loss(value) <= target:
                reached = used
                break
        ratios.append(reached / total)
    finite = [r for r in ratios if math.isfinite(r)]
    return {
        "random_total_rounds": sum(runs["random"][0].resources),
        "ratios": ratios,
        "median_ratio": statistics.median(ratios),
        "mean_ratio_unreached_as_1": float(np.mean([min(r, 1.0) for r in ratios])),
        "reached": len(finite),
        "within_a_third": sum(r <= 1 / 3 for r in ratios),
    }


# -------------------------------------------------------------------------------------------- report
def _fmt(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.3f}"


def print_table(results: dict[str, Any], methods: list[str], budget: int) -> None:
    ks = [k for k in CHECKPOINTS if k <= budget]
    head = f"{'problem':<20}" + "".join(f"{m + '@' + str(k):>14}" for m in methods for k in ks)
    print("\nNormalised score (lower is better; 0 = optimum, 1 = random at the full budget), mean over seeds")
    print(head)
    print("-" * len(head))
    for name, res in results["problems"].items():
        row = f"{name:<20}"
        for m in methods:
            for k in ks:
                row += f"{_fmt(res['scores'].get(m, {}).get(str(k))):>14}"
        print(row)
    print("-" * len(head))
    row = f"{'mean':<20}"
    for m in methods:
        for k in ks:
            row += f"{_fmt(results['mean'].get(m, {}).get(str(k))):>14}"
    print(row)
    if "hyperband" in methods:
        print("(hyperband's mean is over the xgboost problems only; a hyperband evaluation is a job, often stopped)")


def print_resources(results: dict[str, Any]) -> None:
    studies = {n: r["resource"] for n, r in results["problems"].items() if r.get("resource")}
    if not studies:
        return
    print("\nHyperband vs random: rounds trained to first match random's final objective / random's total rounds")
    print(f"{'problem':<20}{'random rounds':>14}{'median ratio':>14}{'mean ratio*':>13}{'reached':>9}{'<= 1/3':>8}")
    for name, s in studies.items():
        n = len(s["ratios"])
        print(
            f"{name:<20}{s['random_total_rounds']:>14}{_fmt(s['median_ratio']):>14}"
            f"{_fmt(s['mean_ratio_unreached_as_1']):>13}{s['reached']:>6}/{n:<2}{s['within_a_third']:>5}/{n:<2}"
        )
    print("* unreached counted as 1.0")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--problems", default=",".join(PROBLEMS), help="comma-separated: " + ", ".join(PROBLEMS))
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated: " + ", ".join(METHODS))
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    if "random" not in methods:
        parser.error("random is the yardstick: keep it in --methods")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    import warnings

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    started = time.perf_counter()
    results: dict[str, Any] = {"seeds": args.seeds, "budget": args.budget, "problems": {}}
    with threadpool_limits(limits=1):
        for name in args.problems.split(","):
            problem = PROBLEMS[name]()
            runs: dict[str, list[Run]] = {}
            for method in methods:
                got = [run_method(problem, method, seed, args.budget) for seed in range(args.seeds)]
                if all(r is not None for r in got):
                    runs[method] = [r for r in got if r is not None]
            entry = score_problem(problem, runs, args.budget)
            entry["seconds"] = {m: round(sum(r.seconds for r in rs), 1) for m, rs in runs.items()}
            entry["resource"] = resource_study(problem, runs)
            entry["best_so_far"] = {m: [best_so_far(problem, r).tolist() for r in rs] for m, rs in runs.items()}
            results["problems"][name] = entry
            print(f"{name}: done in {sum(entry['seconds'].values()):.0f}s {entry['seconds']}", flush=True)
    results["mean"] = {
        m: {
            str(k): float(np.mean(vals))
            for k in CHECKPOINTS
            if (
                vals := [
                    p["scores"][m][str(k)]
                    for p in results["problems"].values()
                    if m in p["scores"] and str(k) in p["scores"][m]
                ]
            )
        }
        for m in methods
    }
    results["seconds"] = round(time.perf_counter() - started, 1)
    print_table(results, [m for m in METHODS if m in methods], args.budget)
    print_resources(results)
    print(f"\n{args.seeds} seeds, budget {args.budget}, {results['seconds']:.0f}s")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"tuning_bayesmark-{stamp}.json"
    out.write_text(json.dumps(results, indent=1))
    print(f"wrote {out.relative_to(RESULTS.parent.parent)}")
    return results


if __name__ == "__main__":
    main()
