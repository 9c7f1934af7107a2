"""Promotion: policy files (policies/*.yaml) evaluated against a candidate model version."""
