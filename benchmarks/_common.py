"""Small helpers shared by the benchmark scripts: medians, tables, temporary platform settings."""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path

from mlops.settings import Settings

RESULTS = Path(__file__).parent / "results"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def scratch_settings(name: str) -> Settings:
    return Settings(home=Path(tempfile.mkdtemp(prefix=f"mlops-bench-{name}-")))


def save(name: str, payload: object) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path
