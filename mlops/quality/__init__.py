"""Data-quality gates with great-expectations: suggest a suite from a reference version, run it on a
version, and report which expectations failed with sample rows."""
