"""The base of every typed record that crosses a boundary: immutable, and unknown fields refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
