"""Shared MLflow plumbing: one ``mlflow.MlflowClient`` per store URI, quiet logs, and MLflow's errors
translated into the platform's (NotFoundError, ConflictError, ValidationError)."""

from __future__ import annotations

import fcntl
import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from mlops.core.errors import ConflictError, MlopsError, NotFoundError, RuntimeUnavailableError, ValidationError

T = TypeVar("T")

_QUIET = {
    "mlflow.store.db.utils": logging.WARNING,  # "Creating initial MLflow database tables..."
    "alembic": logging.WARNING,
    "mlflow.store.model_registry.abstract_store": logging.WARNING,  # "Waiting up to 300 seconds…"
    # The sagemaker-mlflow plugin's header provider fails on every non-ARN tracking URI and logs it.
    "mlflow.tracking.request_header.registry": logging.ERROR,
}


@functools.cache
def client(uri: str) -> Any:
    """An ``mlflow.MlflowClient`` on ``uri`` (sqlite:///…, postgresql://…, http://…) for tracking and
    registry alike. Imported on first use: importing mlflow takes seconds."""
    from mlflow import MlflowClient

    for name, level in _QUIET.items():  # after the import: mlflow's logging setup resets its children
        logging.getLogger(name).setLevel(level)

    with translated(f"tracking store {redact(uri)}"), _first_use_lock(uri):
        mlflow_client = MlflowClient(tracking_uri=uri, registry_uri=uri)  # creates the tracking store's tables
        mlflow_client.search_registered_models(max_results=1)  # and the registry store's, inside the lock
        return mlflow_client


def _first_use_lock(uri: str) -> Any:
    """An exclusive lock beside a SQLite store for the time MLflow creates or migrates its tables: two
    processes opening a new store at once (parallel DAG runs, say) would otherwise both run the
    migrations and one fail with "duplicate column name". Server stores need no lock here."""
    if not uri.startswith("sqlite:///") or uri == "sqlite:///:memory:":
        return nullcontext()
    return _file_lock(Path(uri.removeprefix("sqlite:///")).with_suffix(".lock"))


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def redact(uri: str) -> str:
    """The URI without a password, for messages."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}" if ":" in credentials else uri
    return uri


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Run MLflow calls, raising the platform's errors with ``what`` for context."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlopsError:
        raise
    except MlflowException as e:
        code = getattr(e, "error_code", "")
        message = str(e.message if hasattr(e, "message") else e).split("\n")[0]
        message = message.removeprefix(f"{code}: ")
        if code == "RESOURCE_DOES_NOT_EXIST":
            raise NotFoundError(what, message) from None
        if code == "RESOURCE_ALREADY_EXISTS":
            raise ConflictError(f"{what}: {message}") from None
        if code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"):
            raise ValidationError(what, message) from None
        if "Max retries exceeded" in message or "Connection" in message:
            raise RuntimeUnavailableError(f"{what}: cannot reach MLflow: {message}") from None
        raise MlopsError(f"{what}: MLflow error {code}: {message}") from None


def call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with translated(what):
        return fn(*args, **kwargs)


def millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def from_millis(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)
