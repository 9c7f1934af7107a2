"""Splitting rows: hold-out, stratified, K-fold and time-ordered, all seeded and reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from mlops.core.datasets import SplitMethod, SplitRatios
from mlops.core.errors import ValidationError
from mlops.data import splits


def _rows(parts: list[splits.PartIndices]) -> dict[str, np.ndarray]:
    return {p.name: p.rows for p in parts}


def test_holdout_ratios_cover_every_row_once() -> None:
    parts = _rows(splits.holdout(1000, SplitRatios(Train=0.8, Validation=0.1, Test=0.1), seed=7))
    assert [len(parts[n]) for n in ("train", "validation", "test")] == [800, 100, 100]
    together = np.concatenate(list(parts.values()))
    assert np.array_equal(np.sort(together), np.arange(1000))


def test_holdout_is_seeded() -> None:
    ratios = SplitRatios(Train=0.7, Validation=0.15, Test=0.15)
    a, b = splits.holdout(500, ratios, seed=3), splits.holdout(500, ratios, seed=3)
    assert splits.split_sha256(a) == splits.split_sha256(b)
    assert splits.split_sha256(a) != splits.split_sha256(splits.holdout(500, ratios, seed=4))


def test_stratified_holdout_keeps_class_proportions() -> None:
    labels = np.array([1] * 100 + [0] * 900)
    parts = _rows(splits.holdout(1000, SplitRatios(Train=0.8, Validation=0.1, Test=0.1), 7, strata=labels))
    for name in ("train", "validation", "test"):
        assert labels[parts[name]].mean() == pytest.approx(0.1, abs=0.001)


def test_stratified_kfold_validates_each_row_once_and_keeps_a_test_block() -> None:
    labels = np.array([1] * 30 + [0] * 270)
    parts = splits.kfold(300, 5, seed=1, strata=labels, test_ratio=0.1)
    named = _rows(parts)
    assert len(named["test"]) == 30
    validation = np.concatenate([named[f"fold-{k}/validation"] for k in range(1, 6)])
    assert np.array_equal(np.sort(np.concatenate([validation, named["test"]])), np.arange(300))
    for k in range(1, 6):
        fold_train, fold_validation = named[f"fold-{k}/train"], named[f"fold-{k}/validation"]
        assert not set(fold_train) & set(fold_validation)
        assert len(fold_train) + len(fold_validation) == 270
        assert labels[fold_validation].mean() == pytest.approx(0.1, abs=0.02)


def test_time_holdout_never_trains_on_the_future_and_keeps_equal_times_together() -> None:
    times = np.array([5, 1, 3, 3, 2, 4, 4, 4, 6, 7], dtype=float)
    parts = _rows(splits.time_holdout(times, SplitRatios(Train=0.6, Validation=0.2, Test=0.2), "t"))
    assert times[parts["train"]].max() < times[parts["validation"]].min()
    assert times[parts["validation"]].max() < times[parts["test"]].min()
    assert sum(len(v) for v in parts.values()) == 10


def test_forward_chaining_grows_the_training_window() -> None:
    times = np.arange("2024-01-01", "2024-04-10", dtype="datetime64[D]").astype("datetime64[ns]")
    parts = _rows(splits.forward_chaining(times, 3, "day"))
    for k in (1, 2, 3):
        assert times[parts[f"fold-{k}/train"]].max() < times[parts[f"fold-{k}/validation"]].min()
    assert len(parts["fold-1/train"]) < len(parts["fold-2/train"]) < len(parts["fold-3/train"])


def test_bad_split_requests_are_refused() -> None:
    with pytest.raises(ValidationError, match="add up to 1"):
        splits.holdout(10, SplitRatios(Train=0.5, Validation=0.1, Test=0.1), 1)
    with pytest.raises(ValidationError, match="at least 2 folds"):
        splits.kfold(10, 1, 1)
    with pytest.raises(ValidationError, match="missing values"):
        splits.time_holdout(np.array([1.0, np.nan, 3.0]), SplitRatios(Train=0.5, Test=0.5), "t")
    with pytest.raises(ValidationError, match="would be empty"):
        splits.time_holdout(np.array([1.0, 1.0, 1.0, 1.0]), SplitRatios(Train=0.5, Test=0.5), "t")


def test_method_names() -> None:
    assert splits.method_of(None, None, True) is SplitMethod.StratifiedHoldout
    assert splits.method_of(5, None, False) is SplitMethod.KFold
    assert splits.method_of(3, "signup_date", True) is SplitMethod.ForwardChaining
    assert splits.method_of(None, "signup_date", True) is SplitMethod.TimeHoldout
