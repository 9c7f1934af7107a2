"""The one place that imports great-expectations (slow to import: done on first use) and builds its
ephemeral, in-memory data context with progress bars and analytics off; nothing is written to disk."""

from __future__ import annotations

import functools
import logging
import os
from typing import Any


@functools.cache
def gx() -> Any:
    """The ``great_expectations`` module, imported on first use."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    return great_expectations


@functools.cache
def ephemeral_context() -> Any:
    """One in-memory context per process (suites need an active one even to be built)."""
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    return gx().get_context(mode="ephemeral", project_config=config)
