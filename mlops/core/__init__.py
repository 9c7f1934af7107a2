"""Frozen value types, ids, errors and the clock. No I/O; no third-party imports beyond pydantic."""
