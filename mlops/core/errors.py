"""The platform's errors. Each names what was wrong (a field, a file, a line) so a user can act on it."""

from __future__ import annotations


class MlopsError(Exception):
    """Base class of every error the platform raises on purpose."""


class ValidationError(MlopsError):
    """Bad input refused before any work starts. ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotFoundError(MlopsError):
    """A named record (job, algorithm, artifact) does not exist."""

    def __init__(self, kind: str, name: str, hint: str = "") -> None:
        text = f"{kind} {name!r} not found"
        super().__init__(f"{text}. {hint}" if hint else text)
        self.kind = kind
        self.name = name


class ConflictError(MlopsError):
    """The request contradicts the current state (a name already taken, a job already finished)."""


class RuntimeUnavailableError(MlopsError):
    """The execution backend (a Docker engine, a remote service) cannot be reached."""
