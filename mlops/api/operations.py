"""The operation table: a SageMaker operation's name -> its handler. A handler takes the request as
validated against botocore's model (a dict with SageMaker's member names), turns it into our typed
records once, does the work and returns the answer as a dict, which the app projects onto the
operation's output shape. Later operations are more rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Operation:
    name: str
    handler: Handler  # synchronous: the app runs it in a worker thread


OperationTable = Mapping[str, Operation]


def table(*operations: Operation) -> dict[str, Operation]:
    return {op.name: op for op in operations}
