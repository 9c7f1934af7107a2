"""The one ``KEY=VALUE`` parser: a repeated option's item (``--hp eta=0.2``), a comma list of them
(``--variant name=blue,model=m1``) and the numbers such items hold. A bad item is an error naming it,
never dropped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops.core.errors import ValidationError


def split_key_value(item: str, what: str, refusal: str) -> tuple[str, str]:
    """``"eta=0.2"`` → ``("eta", "0.2")``, both stripped; the value may itself hold ``=`` (a regex, a URI).
    No ``=``, or nothing before it: ``ValidationError(what, refusal)``."""
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ValidationError(what, refusal)
    return key.strip(), value.strip()


def key_values(text: str, what: str, known: Sequence[str]) -> dict[str, str]:
    """``a=1,b=2`` → {"a": "1", "b": "2"}, refusing keys outside ``known`` (blank items between commas are
    no items)."""
    out: dict[str, str] = {}
    for part in (p for p in text.split(",") if p.strip()):
        key, value = split_key_value(part, what, f"{part!r} is not KEY=VALUE (in {text!r})")
        if key not in known:
            raise ValidationError(what, f"unknown key {key!r} in {text!r}; known: {', '.join(known)}")
        out[key] = value
    return out


def parse_number(what: str, value: str, kind: type[int] | type[float]) -> Any:
    """``value`` as an int or a float, or ``ValidationError(what, …)`` naming it."""
    try:
        return kind(value)
    except ValueError:
        raise ValidationError(what, f"{value!r} is not a{'n integer' if kind is int else ' number'}") from None


def is_number(text: str) -> bool:
    """Whether ``float`` reads ``text`` (a range bound, a CSV field)."""
    try:
        float(text)
        return True
    except ValueError:
        return False
