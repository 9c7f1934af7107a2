"""The one place that hands out the algorithm catalog of a settings object (one per algorithms folder)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.settings import Settings


@cache
def _catalog(root: Path) -> AlgorithmCatalog:
    return AlgorithmCatalog(root)


def algorithm_catalog(settings: Settings) -> AlgorithmCatalog:
    """The catalog of ``settings.algorithms_dir``; the same object for every caller of that folder. It holds
    no specification: each ``get`` reads the folder's ``algorithm.json`` again."""
    return _catalog(settings.algorithms_dir)
