"""Datasets: the bundled, seeded churn sample that every demo and later capability reuses."""
