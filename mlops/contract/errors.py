"""Errors an algorithm raises; their text becomes the job's FailureReason or the HTTP error body."""

from __future__ import annotations


class AlgorithmError(Exception):
    """A training or inference failure the user can act on (bad data, bad hyperparameter)."""


class ChannelDataError(AlgorithmError):
    """Bad data in a channel. Names the channel, the file and, where known, the line."""

    def __init__(self, channel: str, file: str, message: str, line: int | None = None) -> None:
        where = f"channel {channel!r}, file {file}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {message}")
        self.channel = channel
        self.file = file
        self.line = line


class UnsupportedContentTypeError(AlgorithmError):
    """A payload or channel of a content type the algorithm does not accept (HTTP 415)."""
