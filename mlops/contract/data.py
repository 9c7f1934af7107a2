"""The in-memory result of reading a channel or a request payload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LabeledData:
    """Features (a dense float32 array or a scipy CSR matrix) and labels (None for inference)."""

    X: Any
    y: np.ndarray | None

    @property
    def rows(self) -> int:
        return int(self.X.shape[0])

    @property
    def columns(self) -> int:
        return int(self.X.shape[1]) if len(self.X.shape) > 1 else 0
