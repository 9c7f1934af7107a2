"""Splitting a table's rows: hold-out (optionally stratified), K-fold (optionally stratified), and
time-ordered hold-out or forward chaining. Pure functions of (rows, seed, parameters) → row indices, so
the same inputs always rebuild the same split; ``indices_sha256`` fingerprints the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mlops.core.datasets import SplitMethod, SplitRatios
from mlops.core.errors import ValidationError


@dataclass(frozen=True)
class PartIndices:
    name: str  # train | validation | test | fold-K/train | fold-K/validation
    channel: str
    fold: int | None
    rows: np.ndarray  # sorted int64 row indices into the version's table


def indices_sha256(rows: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(rows, dtype="<i8").tobytes()).hexdigest()


def split_sha256(parts: Sequence[PartIndices]) -> str:
    outer = hashlib.sha256()
    for part in parts:
        outer.update(f"{part.name}\t{indices_sha256(part.rows)}\n".encode())
    return outer.hexdigest()


def _cuts(n: int, fractions: Sequence[float]) -> list[int]:
    """Boundaries of consecutive blocks of ``n`` items in the given proportions (largest remainder)."""
    raw = np.array(fractions, dtype=float) * n
    counts = np.floor(raw).astype(int)
    remainder = n - int(counts.sum())
    for i in np.argsort(-(raw - counts), kind="stable")[:remainder]:
        counts[i] += 1
    return [int(c) for c in np.cumsum(counts)[:-1]]


def _named(ratios: SplitRatios) -> list[tuple[str, float]]:
    return [
        (n, r) for n, r in (("train", ratios.Train), ("validation", ratios.Validation), ("test", ratios.Test)) if r > 0
    ]


def holdout(n: int, ratios: SplitRatios, seed: int, strata: np.ndarray | None = None) -> list[PartIndices]:
    """Shuffled hold-out; with ``strata`` each class is cut in the same proportions (stratified)."""
    named = _named(ratios.check())
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if strata is None else [np.flatnonzero(strata == v) for v in np.unique(strata)]
    buckets: list[list[np.ndarray]] = [[] for _ in named]
    for group in groups:
        shuffled = rng.permutation(group)
        for bucket, block in zip(buckets, np.split(shuffled, _cuts(len(group), [r for _, r in named])), strict=True):
            bucket.append(block)
    parts = [
        PartIndices(name, name, None, np.sort(np.concatenate(bucket)).astype(np.int64))
        for (name, _), bucket in zip(named, buckets, strict=True)
    ]
    _check_not_empty(parts)
    return parts


def kfold(
    n: int, folds: int, seed: int, strata: np.ndarray | None = None, test_ratio: float = 0.0
) -> list[PartIndices]:
    """K folds over the rows left after an optional test hold-out; fold k validates on its own block and
    trains on the others. With ``strata`` every fold keeps the class proportions."""
    if folds < 2:
        raise ValidationError("--folds", f"K-fold needs at least 2 folds, got {folds}")
    rng = np.random.default_rng(seed)
    rows = np.arange(n)
    parts: list[PartIndices] = []
    if test_ratio > 0:
        first = holdout(n, SplitRatios(Train=1 - test_ratio, Test=test_ratio), seed, strata)
        rows, test = first[0].rows, first[1].rows
        parts.append(PartIndices("test", "test", None, test))
    fold_of = np.empty(len(rows), dtype=np.int64)
    labels = None if strata is None else strata[rows]
    groups = [np.arange(len(rows))] if labels is None else [np.flatnonzero(labels == v) for v in np.unique(labels)]
    offset = 0
    for group in groups:
        shuffled = rng.permutation(group)
        # deal rows round-robin, continuing across classes so fold sizes differ by at most one
        fold_of[shuffled] = (np.arange(len(shuffled)) + offset) % folds
        offset += len(shuffled)
    if len(rows) < folds:
        raise ValidationError("--folds", f"{folds} folds need at least {folds} rows, the table has {len(rows)}")
    for k in range(folds):
        parts.append(PartIndices(f"fold-{k + 1}/train", "train", k + 1, np.sort(rows[fold_of != k])))
        parts.append(PartIndices(f"fold-{k + 1}/validation", "validation", k + 1, np.sort(rows[fold_of == k])))
    _check_not_empty(parts)
    return parts


def _time_cuts(order: np.ndarray, times: np.ndarray, cuts: Sequence[int]) -> list[int]:
    """Move each cut forward past rows sharing its timestamp, so no moment straddles two parts."""
    sorted_times = times[order]
    moved = []
    for cut in cuts:
        while 0 < cut < len(order) and sorted_times[cut] == sorted_times[cut - 1]:
            cut += 1
        moved.append(cut)
    return moved


def _time_order(times: np.ndarray, column: str) -> np.ndarray:
    if np.isnat(times).any() if times.dtype.kind == "M" else np.isnan(times.astype(float)).any():
        raise ValidationError("--time-column", f"column {column!r} has missing values; rows cannot be ordered")
    return np.argsort(times, kind="stable")


def time_holdout(times: np.ndarray, ratios: SplitRatios, column: str) -> list[PartIndices]:
    """Oldest rows train, the next validate, the newest test: never train on the future."""
    named = _named(ratios.check())
    order = _time_order(times, column)
    cuts = _time_cuts(order, times, _cuts(len(order), [r for _, r in named]))
    parts = [
        PartIndices(name, name, None, np.sort(block).astype(np.int64))
        for (name, _), block in zip(named, np.split(order, cuts), strict=True)
    ]
    _check_not_empty(parts, f"; rows share timestamps in {column!r}, try other ratios")
    return parts


def forward_chaining(times: np.ndarray, folds: int, column: str, test_ratio: float = 0.0) -> list[PartIndices]:
    """Time-ordered folds: the rows (after an optional newest test block) are cut into K+1 blocks by time;
    fold k trains on blocks 1..k and validates on block k+1."""
    if folds < 1:
        raise ValidationError("--folds", f"forward chaining needs at least 1 fold, got {folds}")
    order = _time_order(times, column)
    parts: list[PartIndices] = []
    if test_ratio > 0:
        cut = _time_cuts(order, times, _cuts(len(order), [1 - test_ratio, test_ratio]))[0]
        parts.append(PartIndices("test", "test", None, np.sort(order[cut:]).astype(np.int64)))
        order = order[:cut]
    cuts = _time_cuts(order, times, _cuts(len(order), [1 / (folds + 1)] * (folds + 1)))
    blocks = np.split(order, cuts)
    for k in range(1, folds + 1):
        train = np.concatenate(blocks[:k])
        parts.append(PartIndices(f"fold-{k}/train", "train", k, np.sort(train).astype(np.int64)))
        parts.append(PartIndices(f"fold-{k}/validation", "validation", k, np.sort(blocks[k]).astype(np.int64)))
    _check_not_empty(parts, f"; too many folds for the distinct timestamps in {column!r}")
    return parts


def _check_not_empty(parts: Sequence[PartIndices], hint: str = "") -> None:
    for part in parts:
        if part.rows.size == 0:
            raise ValidationError("split", f"part {part.name} would be empty{hint}")


def method_of(folds: int | None, time_column: str | None, stratified: bool) -> SplitMethod:
    if time_column:
        return SplitMethod.ForwardChaining if folds else SplitMethod.TimeHoldout
    if folds:
        return SplitMethod.StratifiedKFold if stratified else SplitMethod.KFold
    return SplitMethod.StratifiedHoldout if stratified else SplitMethod.Holdout
