"""Datasets: the bundled churn sample, content-addressed versions with their schema and feature encoding,
splits, and the formats training channels read (CSV label-first, recordio-protobuf)."""
