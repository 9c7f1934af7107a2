"""The bias-drift monitor: Clarify's metrics for a facet on the baseline and on a window; a violation when
the window is worse (farther from fair) than the baseline by more than the metric's tolerance, and by more
than the sampling noise: z bootstrap standard errors of the difference (the window's and the baseline's
own), z the one-sided normal quantile at alpha / k, alpha the monitor's ``FalseAlarmRate`` and k the number of
(facet value, metric) pairs judged (Bonferroni), and never fewer than ``NOISE_Z``; so a small window does
not page on chance. Clarify's violation fields: facet, facet_value, metric_name, constraint_check_type
``bias_drift_check``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops.core.datasets import FeatureEncoding, ProblemType
from mlops.core.errors import ValidationError
from mlops.core.monitoring import BiasConfig, MonitoringType, Violation
from mlops.core.monitoring_files import BiasAnalysis, BiasMetric, BiasMetricsSection, FacetBias
from mlops.monitoring import clarify
from mlops.monitoring.constraints import is_categorical
from mlops.monitoring.features import OTHER, class_text, columns_of, matrix_from_frame

KIND = MonitoringType.ModelBias
NOISE_Z = 4.0  # the least number of standard errors a violation lies beyond (the bootstrap's tails are rough)
BOOTSTRAP = 200
MIN_ROWS = 100  # fewer window rows and the monitor says the window is too small to judge
FT_MAX_ROWS = 3000
MIN_FACET_ROWS = 10

DEFAULT_TOLERANCE: dict[str, float | None] = {
    "CI": 0.1, "DPL": 0.1, "KL": 0.1, "JS": 0.05, "LP": 0.1, "TVD": 0.1, "KS": 0.1, "CDDL": 0.1,
    "DPPL": 0.1, "DI": 0.2, "DCA": 0.2, "DCR": 0.2, "RD": 0.1, "DAR": 0.1, "DRR": 0.1, "AD": 0.1,
    "CDDPL": 0.1, "TE": None, "FT": None,
}  # fmt: skip
# TE and FT are reported, never a violation by default: TE is unbounded, and FT's value depends on the
# window's size (a member's nearest neighbours in facet a are nearer in a larger sample), so a small window's
# FT differs from the baseline's without anything having changed.


@dataclass(frozen=True)
class Outcomes:
    """What the metrics count, one entry per row of the frame."""

    label_class: np.ndarray | None  # float class index / value; NaN where no label is known
    label_positive: np.ndarray | None  # bool (meaningful where label_class is not NaN)
    predicted_positive: np.ndarray | None  # bool; None without predictions


def positive_classes(config: BiasConfig, encoding: FeatureEncoding) -> tuple[float, ...]:
    """Clarify's label_values_or_threshold as class indices (default: the last declared class)."""
    if not encoding.ProblemType.classification:
        return ()
    if not config.LabelValues:
        return (float(len(encoding.Classes) - 1),)
    out = []
    for value in config.LabelValues:
        if class_text(value) not in encoding.Classes:
            raise ValidationError("LabelValues", f"{value!r} is not a class; classes: {', '.join(encoding.Classes)}")
        out.append(float(encoding.Classes.index(class_text(value))))
    return tuple(out)


def outcomes(
    labels: np.ndarray | None,
    scores: np.ndarray | None,
    encoding: FeatureEncoding,
    config: BiasConfig,
    probability_threshold: float,
) -> Outcomes:
    positive = positive_classes(config, encoding)
    regression = encoding.ProblemType is ProblemType.Regression
    threshold = float(config.LabelValues[0]) if regression and config.LabelValues else None

    def is_positive(values: np.ndarray) -> np.ndarray:
        if regression:
            cut = threshold if threshold is not None else float(np.nanmedian(values))
            return np.asarray(values > cut)
        return np.isin(values, positive)

    label_positive = is_positive(labels) if labels is not None else None
    predicted = None
    if scores is not None:
        if encoding.ProblemType is ProblemType.BinaryClassification:
            predicted = np.asarray(scores >= probability_threshold)
        elif encoding.ProblemType is ProblemType.MulticlassClassification and scores.ndim == 2:
            predicted = np.isin(scores.argmax(axis=1).astype(float), positive)
        else:
            predicted = is_positive(scores)
    return Outcomes(labels, label_positive, predicted)


def facet_groups(frame: pd.DataFrame, config: BiasConfig) -> list[tuple[str, np.ndarray]]:
    """(value_or_threshold, membership of facet d) for each sensitive group of the facet."""
    if config.Facet not in frame.columns:
        raise ValidationError(
            "facet", f"no column {config.Facet!r} in the monitored data; columns: {', '.join(map(str, frame.columns))}"
        )
    series = frame[config.Facet]
    if config.FacetThreshold is not None:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        return [(f"{config.FacetThreshold:g}", np.asarray(values > config.FacetThreshold))]
    if not is_categorical(series) and series.nunique() > 10:
        raise ValidationError(
            "facet", f"{config.Facet!r} is numeric with many values: give a threshold (FacetThreshold)"
        )
    texts = series.astype(object).map(lambda v: class_text(v) if v is not None and v == v else "").to_numpy()
    if config.FacetValues:
        return [(", ".join(config.FacetValues), np.isin(texts, list(config.FacetValues)))]
    present = sorted(v for v in pd.unique(texts) if v and v != OTHER)
    return [(value, texts == value) for value in present]


def _table(*axes: tuple[np.ndarray, int]) -> np.ndarray:
    """Counts over the joint values of integer arrays, each with its number of levels."""
    shape = tuple(levels for _, levels in axes)
    flat = np.zeros(len(axes[0][0]), dtype=np.int64)
    for values, levels in axes:
        flat = flat * levels + values.astype(np.int64)
    return np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(np.float64)


def _bootstrap(table: np.ndarray, rng: np.random.Generator, draws: int) -> np.ndarray:
    total = int(table.sum())
    if total == 0:
        return np.repeat(table[None], draws, axis=0)
    samples = rng.multinomial(total, (table / total).ravel(), size=draws)
    return samples.reshape((draws, *table.shape)).astype(np.float64)


def _point_and_noise(metric: str, table: np.ndarray, rng: np.random.Generator, draws: int) -> tuple[float, float]:
    fn = getattr(clarify, metric)
    value = float(fn(table))
    if draws <= 0:
        return value, 0.0
    sample = np.asarray(fn(_bootstrap(table, rng, draws)), dtype=np.float64)
    finite = sample[np.isfinite(sample)]
    noise = float(finite.std()) if finite.size == sample.size else math.inf
    return value, noise


def facet_metrics(
    frame: pd.DataFrame,
    d: np.ndarray,
    out: Outcomes,
    config: BiasConfig,
    encoding: FeatureEncoding,
    rng: np.random.Generator,
    draws: int = BOOTSTRAP,
) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]], list[str]]:
    """(pre-training, post-training) metric → (value, bootstrap standard error), and notes."""
    pre: dict[str, tuple[float, float]] = {}
    post: dict[str, tuple[float, float]] = {}
    notes: list[str] = []
    facet = d.astype(np.int64)
    if min(int(d.sum()), int((~d).sum())) < MIN_FACET_ROWS:
        notes.append(f"fewer than {MIN_FACET_ROWS} rows in facet d or a ({int(d.sum())} / {int((~d).sum())})")
        return pre, post, notes
    pre["CI"] = _point_and_noise("CI", _table((facet, 2)), rng, draws)
    group = None
    if config.GroupVariable:
        if config.GroupVariable not in frame.columns:
            raise ValidationError(
                "GroupVariable", f"no column {config.GroupVariable!r}; columns: {', '.join(map(str, frame.columns))}"
            )
        group = pd.factorize(frame[config.GroupVariable].astype(object))[0]
    if out.label_class is not None and out.label_positive is not None:
        known = ~np.isnan(out.label_class)
        if known.sum() >= 2 * MIN_FACET_ROWS:
            f, pos = facet[known], out.label_positive[known].astype(np.int64)
            classes, codes = np.unique(out.label_class[known], return_inverse=True)
            pre["DPL"] = _point_and_noise("DPL", _table((f, 2), (pos, 2)), rng, draws)
            label_table = _table((f, 2), (codes, max(len(classes), 2)))
            for name in ("KL", "JS", "LP", "TVD", "KS"):
                pre[name] = _point_and_noise(name, label_table, rng, draws)
            if group is not None:
                g = group[known]
                pre["CDDL"] = _point_and_noise("CDDL", _table((g, int(group.max()) + 1), (f, 2), (pos, 2)), rng, draws)
            if out.predicted_positive is not None:
                hat = out.predicted_positive[known].astype(np.int64)
                confusion = _table((f, 2), (pos, 2), (hat, 2))
                for name in ("DCA", "DCR", "RD", "DAR", "DRR", "AD", "TE"):
                    post[name] = _point_and_noise(name, confusion, rng, draws)
        else:
            notes.append("labels known for fewer than 20 rows: label metrics left out")
    if out.predicted_positive is not None:
        hat = out.predicted_positive.astype(np.int64)
        predictions = _table((facet, 2), (hat, 2))
        post["DPPL"] = _point_and_noise("DPPL", predictions, rng, draws)
        post["DI"] = _point_and_noise("DI", predictions, rng, draws)
        if group is not None:
            post["CDDPL"] = _point_and_noise(
                "CDDPL", _table((group, int(group.max()) + 1), (facet, 2), (hat, 2)), rng, draws
            )
        post["FT"] = _flip_test(frame, d, out.predicted_positive, config, encoding, rng)
    return pre, post, notes


def _flip_test(
    frame: pd.DataFrame,
    d: np.ndarray,
    predicted: np.ndarray,
    config: BiasConfig,
    encoding: FeatureEncoding,
    rng: np.random.Generator,
) -> tuple[float, float]:
    rows = np.arange(len(frame))
    if rows.size > FT_MAX_ROWS:
        rows = np.sort(rng.choice(rows, FT_MAX_ROWS, replace=False))
    matrix = matrix_from_frame(frame.iloc[rows], encoding).astype(np.float64)
    keep = [j for c in columns_of(encoding) if c.name not in (config.Facet, config.GroupVariable) for j in c.indices]
    x = np.nan_to_num(matrix[:, keep])
    scale = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(scale > 0, scale, 1.0)  # ours: standardised, so no unit dominates
    result = clarify.FT(x, d[rows], predicted[rows])
    return result.value, result.standard_error


def _section(label: str, positive: str, results: dict[str, list[FacetBias]], facet: str) -> BiasMetricsSection | None:
    if not any(fb.metrics for fb in results[facet]):
        return None
    return BiasMetricsSection(label=label, label_value_or_threshold=positive, facets={facet: tuple(results[facet])})


def analyse(
    frame: pd.DataFrame,
    out: Outcomes,
    config: BiasConfig,
    encoding: FeatureEncoding,
    tolerances: dict[str, float | None] | None = None,
    seed: int = 0,
    draws: int = 0,
) -> tuple[BiasAnalysis, dict[tuple[str, str], float], list[str]]:
    """Clarify's analysis of ``frame``: the BiasAnalysis, the standard error of each (facet value, metric),
    and notes. ``draws`` > 0 bootstraps the standard errors."""
    tol = {**DEFAULT_TOLERANCE, **(tolerances or {})}
    rng = np.random.default_rng(seed)
    pre_facets: dict[str, list[FacetBias]] = {config.Facet: []}
    post_facets: dict[str, list[FacetBias]] = {config.Facet: []}
    noise: dict[tuple[str, str], float] = {}
    notes: list[str] = []
    for value, d in facet_groups(frame, config):
        pre, post, found = facet_metrics(frame, d, out, config, encoding, rng, draws)
        notes += [f"facet {config.Facet}={value}: {n}" for n in found]
        for target, metrics, order in (
            (pre_facets, pre, clarify.PRE_TRAINING),
            (post_facets, post, clarify.POST_TRAINING),
        ):
            entries = []
            for name in order:
                if name not in metrics:
                    continue
                v, s = metrics[name]
                noise[(value, name)] = s
                entries.append(
                    BiasMetric(
                        name=name,
                        description=clarify.DESCRIPTIONS[name],
                        value=None if math.isnan(v) else v,
                        standard_error=s if draws > 0 and math.isfinite(s) else None,
                        tolerance=tol.get(name),
                    )
                )
            target[config.Facet].append(FacetBias(value_or_threshold=value, metrics=tuple(entries)))
    label = encoding.LabelColumn
    positive = ", ".join(config.LabelValues) or (encoding.Classes[-1] if encoding.Classes else "")
    analysis = BiasAnalysis(
        pre_training_bias_metrics=_section(label, positive, pre_facets, config.Facet),
        post_training_bias_metrics=_section(label, positive, post_facets, config.Facet),
    )
    return analysis, noise, notes


def _judged(baseline: BiasAnalysis, facet: str) -> int:
    sections = (baseline.pre_training_bias_metrics, baseline.post_training_bias_metrics)
    return sum(
        1
        for section in sections
        if section is not None
        for fb in section.facets.get(facet, ())
        for m in fb.metrics
        if m.tolerance is not None and m.value is not None
    )


def check(
    baseline: BiasAnalysis,
    window: BiasAnalysis,
    noise: dict[tuple[str, str], float],
    facet: str,
    false_alarm_rate: float = 0.01,
    rows: int | None = None,
) -> tuple[list[Violation], dict[str, float]]:
    from scipy.stats import norm

    violations: list[Violation] = []
    metrics: dict[str, float] = {}
    z = max(NOISE_Z, float(norm.isf(false_alarm_rate / max(_judged(baseline, facet), 1))))
    for base_section, win_section in (
        (baseline.pre_training_bias_metrics, window.pre_training_bias_metrics),
        (baseline.post_training_bias_metrics, window.post_training_bias_metrics),
    ):
        if base_section is None or win_section is None:
            continue
        observed = {fb.value_or_threshold: fb for fb in win_section.facets.get(facet, ())}
        for base_fb in base_section.facets.get(facet, ()):
            win_fb = observed.get(base_fb.value_or_threshold)
            if win_fb is None:
                continue
            for bm in base_fb.metrics:
                wm = win_fb.metric(bm.name)
                if wm is None or wm.value is None:
                    continue
                metrics[f"{bm.name}.{base_fb.value_or_threshold}"] = wm.value
                if (
                    bm.tolerance is None
                    or bm.value is None
                    or not (math.isfinite(bm.value) and math.isfinite(wm.value))
                ):
                    continue
                fair = clarify.FAIR[bm.name]
                worse = abs(wm.value - fair) - abs(bm.value - fair)
                se = math.hypot(noise.get((base_fb.value_or_threshold, bm.name), 0.0), bm.standard_error or 0.0)
                if worse > bm.tolerance and worse > z * se:
                    violations.append(
                        Violation(
                            monitoring_type=KIND,
                            constraint_check_type="bias_drift_check",
                            facet=facet,
                            facet_value=base_fb.value_or_threshold,
                            metric_name=bm.name,
                            baseline_value=bm.value,
                            observed_value=wm.value,
                            threshold=bm.tolerance,
                            noise_band=z * se,
                            window_rows=rows,
                            description=f"Value {wm.value:.4g} does not meet the constraint requirement: "
                            f"{bm.name} is {worse:.4g} farther from fair ({fair:g}) than the baseline's "
                            f"{bm.value:.4g} (tolerance {bm.tolerance:g}; chance moves it up to {z * se:.2g}, "
                            f"{z:.1f} standard errors)",
                        )
                    )
    return violations, metrics
