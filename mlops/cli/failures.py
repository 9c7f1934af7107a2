"""One line for a failure the platform did not raise on purpose (an OSError, an HTTP error, a parser's or
pydantic's error), naming what failed: the file, the URL, the field. ``mlops --debug`` shows the traceback
instead.

Expected failures are ``MlopsError``s raised where they happen, with a message written for the user; this
is the fallback for everything else, so that no command ends in a traceback a newcomer cannot read.
"""

from __future__ import annotations

import json
import urllib.error

from pydantic import ValidationError as PydanticValidationError

HINT = "(run with --debug for the traceback)"
MAX_DETAIL = 300


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_DETAIL else flat[: MAX_DETAIL - 1] + "…"


def _http(e: urllib.error.HTTPError) -> str:
    try:
        body = e.read().decode("utf-8", errors="replace")
    except Exception:  # the body may be gone already; the status still says something
        body = ""
    text = f"{e.url} answered HTTP {e.code} {e.reason}"
    return f"{text}: {_one_line(body)}" if body.strip() else text


def _os(e: OSError) -> str:
    reason = e.strerror or str(e)
    if e.filename is not None and getattr(e, "filename2", None) is not None:
        return f"{e.filename} -> {e.filename2}: {reason}"
    if e.filename is not None:
        return f"{e.filename}: {reason}"
    return f"{type(e).__name__}: {e}"


def _pydantic(e: PydanticValidationError) -> str:
    errors = e.errors()
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"])
    text = f"{e.title}{'.' + where if where else ''}: {first['msg']} (got {str(first.get('input'))[:60]!r})"
    return text + (f" and {len(errors) - 1} more" if len(errors) > 1 else "")


def describe_failure(e: BaseException) -> str:
    """What failed, in one line (without the ``error:`` prefix and the --debug hint)."""
    if isinstance(e, urllib.error.HTTPError):
        return _http(e)
    if isinstance(e, urllib.error.URLError):
        return f"network request failed: {_one_line(str(e.reason))}"
    if isinstance(e, OSError):
        return _one_line(_os(e))
    if isinstance(e, PydanticValidationError):
        return _one_line(_pydantic(e))
    if isinstance(e, json.JSONDecodeError):
        return f"not valid JSON at line {e.lineno} column {e.colno}: {e.msg}"
    return _one_line(f"{type(e).__name__}: {e}") if str(e) else type(e).__name__


def failure_line(e: BaseException) -> str:
    return f"error: {describe_failure(e)} {HINT}"
