"""What SageMaker's List operations share: NameContains, creation / last-modified time bounds, SortBy and
SortOrder (SageMaker's default: CreationTime, Descending), and pages (MaxResults, an opaque NextToken)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from botocore.utils import parse_to_aware_datetime

from mlops.api.errors import validation

T = TypeVar("T")
DEFAULT_PAGE = 10


def within(when: datetime, params: dict[str, Any], prefix: str) -> bool:
    """Whether ``when`` is strictly inside the ``{prefix}After`` / ``{prefix}Before`` bounds given."""
    after, before = params.get(f"{prefix}After"), params.get(f"{prefix}Before")
    if after is not None and when <= parse_to_aware_datetime(after):
        return False
    return not (before is not None and when >= parse_to_aware_datetime(before))


def sort_and_filter(
    items: Sequence[T],
    params: dict[str, Any],
    name: Callable[[T], str],
    created: Callable[[T], datetime],
    modified: Callable[[T], datetime] | None = None,
    status: Callable[[T], str] | None = None,
) -> list[T]:
    contains = str(params.get("NameContains") or "").lower()
    kept = [
        item
        for item in items
        if contains in name(item).lower()
        and within(created(item), params, "CreationTime")
        and (modified is None or within(modified(item), params, "LastModifiedTime"))
    ]
    keys: dict[str, Callable[[T], Any]] = {"Name": name, "CreationTime": created}
    if status is not None:
        keys["Status"] = status
    sort_by, order = params.get("SortBy", "CreationTime"), params.get("SortOrder", "Descending")
    if sort_by not in keys:
        raise validation(f"SortBy: {sort_by!r} is not one of {', '.join(keys)}")
    if order not in ("Ascending", "Descending"):
        raise validation(f"SortOrder: {order!r} is not Ascending or Descending")
    return sorted(kept, key=lambda item: (keys[sort_by](item), name(item)), reverse=order == "Descending")


def page(items: Sequence[T], params: dict[str, Any]) -> tuple[list[T], str | None]:
    """One page of ``items`` from the NextToken given, and the token of the next page (None at the end)."""
    start = offset(params.get("NextToken"))
    size = int(params.get("MaxResults", DEFAULT_PAGE))
    end = start + size
    return list(items[start:end]), token(end) if end < len(items) else None


def token(at: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": at}).encode()).decode()


def offset(text: str | None) -> int:
    if not text:
        return 0
    try:
        at = json.loads(base64.urlsafe_b64decode(text.encode()))["offset"]
    except (ValueError, KeyError, TypeError):
        raise validation("NextToken: not a token this API returned") from None
    if not isinstance(at, int) or isinstance(at, bool) or at < 0:
        raise validation("NextToken: not a token this API returned")
    return at
