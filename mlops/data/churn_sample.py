"""A realistic, seeded customer-churn table that needs no network.

Numeric and categorical columns, a timestamp for forward-chaining splits, and a protected
attribute (``gender``) whose effect on churn is small but real, so bias metrics have something
to measure. Churn follows a logistic model with interactions, so trees beat linear models a
little, as on real churn data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlops.core.datasets import FeatureEncoding
from mlops.data import formats
from mlops.data.encoding_sidecar import write_sidecar

DATASET = "churn"  # the dataset name the README ingests the table under
LABEL = "churn"
CATEGORICAL = {
    "gender": ["female", "male"],
    "contract": ["month-to-month", "one-year", "two-year"],
    "payment_method": ["electronic-check", "mailed-check", "bank-transfer", "credit-card"],
    "internet_service": ["fiber", "dsl", "none"],
}


def generate(rows: int = 50_000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    gender = rng.choice(CATEGORICAL["gender"], rows)
    senior = rng.random(rows) < 0.16
    age = np.where(senior, rng.integers(65, 90, rows), rng.integers(18, 65, rows))
    contract = rng.choice(CATEGORICAL["contract"], rows, p=[0.55, 0.25, 0.20])
    tenure = np.clip(
        rng.gamma(2.0, np.select([contract == "two-year", contract == "one-year"], [24.0, 14.0], 7.0)), 0, 72
    ).round()
    internet = rng.choice(CATEGORICAL["internet_service"], rows, p=[0.44, 0.34, 0.22])
    payment = rng.choice(CATEGORICAL["payment_method"], rows, p=[0.34, 0.23, 0.22, 0.21])
    base_charge = np.select([internet == "fiber", internet == "dsl"], [70.0, 45.0], 20.0)
    monthly = np.round(base_charge + rng.normal(0, 12, rows).clip(-15, 40), 2)
    total = np.round(monthly * tenure + rng.normal(0, 20, rows).clip(0, None), 2)
    support_calls = rng.poisson(np.where(internet == "fiber", 1.8, 1.1))
    products = rng.integers(1, 6, rows)
    usage_gb = np.round(rng.lognormal(np.where(internet == "none", 0.5, 3.0), 0.6), 1)
    last_login = rng.exponential(np.where(rng.random(rows) < 0.2, 40.0, 8.0)).round()
    paperless = rng.random(rows) < 0.6
    signup = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, rows), unit="D")

    logit = (
        -1.2
        + 1.1 * (contract == "month-to-month")
        - 0.9 * (contract == "two-year")
        - 0.045 * tenure
        + 0.018 * (monthly - 60)
        + 0.35 * support_calls
        + 0.25 * np.maximum(support_calls - 3, 0) ** 1.5
        + 0.5 * (payment == "electronic-check")
        + 0.35 * (internet == "fiber")
        + 0.02 * last_login
        - 0.25 * products
        + 0.3 * senior
        + 0.2 * paperless
        + 0.6 * ((contract == "month-to-month") & (internet == "fiber") & (tenure < 12))
        + 0.15 * (gender == "male")
    )
    churn = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "customer_id": [f"C{seed:02d}{i:07d}" for i in range(rows)],
            "signup_date": signup.strftime("%Y-%m-%d"),
            "gender": gender,
            "senior_citizen": senior.astype(int),
            "age": age,
            "tenure_months": tenure.astype(int),
            "contract": contract,
            "payment_method": payment,
            "internet_service": internet,
            "paperless_billing": paperless.astype(int),
            "monthly_charges": monthly,
            "total_charges": total,
            "support_calls": support_calls,
            "num_products": products,
            "avg_monthly_gb": usage_gb,
            "days_since_last_login": last_login.astype(int),
            LABEL: churn,
        }
    )


def encode(table: Path) -> tuple[FeatureEncoding, np.ndarray, np.ndarray]:
    """The churn table as ``mlops data ingest churn --source TABLE`` encodes it: the same reader, typing
    and ``build_encoding``, so the sample files and an ingested version share one feature space."""
    source = formats.read_files([table], [str(table)], formats.format_of(table.name))
    typed = formats.type_columns(source.frame)
    encoding = formats.build_encoding(typed, formats.default_label(typed, DATASET))
    labels = formats.encode_labels(source, typed, encoding)
    return encoding, labels, formats.encode_features(typed, encoding, where=str(table))


@dataclass(frozen=True)
class DemoFiles:
    table: Path
    train: Path
    validation: Path
    test: Path
    encoding: FeatureEncoding

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.encoding.feature_names


def write_demo_files(folder: Path, rows: int = 50_000, seed: int = 7) -> DemoFiles:
    """The raw table plus label-first, header-less train/validation/test CSVs (70/15/15, seeded), each with
    its feature encoding beside it (``train.csv.encoding.json`` …)."""
    folder.mkdir(parents=True, exist_ok=True)
    table = folder / "churn.csv"
    generate(rows, seed).to_csv(table, index=False)
    encoding, labels, features = encode(table)
    order = np.random.default_rng(seed).permutation(len(labels))
    cut1, cut2 = int(0.7 * len(order)), int(0.85 * len(order))
    paths = []
    for name, index in (("train", order[:cut1]), ("validation", order[cut1:cut2]), ("test", order[cut2:])):
        path = folder / f"{name}.csv"
        path.write_bytes(formats.csv_bytes(labels[index], features[index]))
        write_sidecar(path, encoding)
        paths.append(path)
    return DemoFiles(table, paths[0], paths[1], paths[2], encoding)
