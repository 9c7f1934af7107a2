"""The operation table: a SageMaker operation's name -> its handler. A handler takes the request as
validated against botocore's model (a dict with SageMaker's member names), turns it into our typed
records once, does the work and returns the answer as a dict, which the app projects onto the
operation's output shape. Later operations are more rows.

A row is synchronous (the app runs it in a worker thread: file and store work) or asynchronous (the app
awaits it in the control process's event loop: the hosting controller lives there)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

Handler = Callable[[dict[str, Any]], dict[str, Any]]
AsyncHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Operation:
    name: str
    handler: Handler | AsyncHandler
    in_loop: bool = False  # True: an async handler, awaited in the event loop; False: run in a worker thread


def in_loop(name: str, handler: AsyncHandler) -> Operation:
    """A row whose handler is async and runs in the control process's event loop."""
    return Operation(name, handler, in_loop=True)


OperationTable = Mapping[str, Operation]


def table(*operations: Operation) -> dict[str, Operation]:
    return {op.name: op for op in operations}
