"""Shared, session-wide fixtures of the monitoring tests: a small churn table, its encoding, a small
xgboost model and a baseline made from them (a few seconds, once)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from mlops.core.datasets import FeatureEncoding
from mlops.data.churn_sample import generate
from mlops.data.formats import build_encoding, encode_features, encode_labels
from mlops.monitoring.baseline import Baseline, suggest_baseline
from mlops.monitoring.features import label_index, monitor_frame
from mlops.monitoring.models import XGBoostModel
from mlops.monitoring.window import WindowData

START = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def churn_table() -> pd.DataFrame:
    return generate(7000, seed=5)


@pytest.fixture(scope="session")
def training(churn_table: pd.DataFrame) -> pd.DataFrame:
    return churn_table.iloc[:5000].reset_index(drop=True)


@pytest.fixture(scope="session")
def held_out(churn_table: pd.DataFrame) -> pd.DataFrame:
    return churn_table.iloc[5000:].reset_index(drop=True)


@pytest.fixture(scope="session")
def encoding(training: pd.DataFrame) -> FeatureEncoding:
    return build_encoding(training, "churn")


@pytest.fixture(scope="session")
def model(training: pd.DataFrame, encoding: FeatureEncoding) -> XGBoostModel:
    X, y = encode_features(training, encoding), encode_labels(None, training, encoding)
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "nthread": 1, "seed": 0}
    return XGBoostModel(xgb.train(params, xgb.DMatrix(X, label=y), 30))


@pytest.fixture(scope="session")
def baseline(training: pd.DataFrame, encoding: FeatureEncoding, model: XGBoostModel) -> Baseline:
    return suggest_baseline("churn", training, encoding, "churn_sample(7000, seed=5)[:5000]", model=model)


WindowOf = Callable[..., WindowData]


@pytest.fixture
def window_of(encoding: FeatureEncoding, model: XGBoostModel) -> WindowOf:
    """A window of raw rows as the monitors see it: scored by the model, labelled from ``churn``."""

    def make(rows: pd.DataFrame, scores: np.ndarray | None = None, labels: bool = True) -> WindowData:
        frame = monitor_frame(rows, encoding)
        if scores is None:
            scores = model.predict(encode_features(rows, encoding))
        return WindowData(
            start=START,
            end=START + timedelta(hours=1),
            features=frame,
            scores=scores,
            inference_ids=np.array([f"id-{i}" for i in range(len(rows))], dtype=object),
            labels=label_index(rows["churn"], encoding) if labels else None,
        )

    return make
