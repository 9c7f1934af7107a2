"""Content digests as users write them: a sha256 is 64 hex digits, optionally prefixed ``sha256:``."""

from __future__ import annotations

import re

from mlops.core.errors import ValidationError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_sha256(field: str, value: str) -> str:
    """The digest in its one stored form (lowercase hex, no prefix), or a ValidationError naming ``field``."""
    text = value.strip().lower().removeprefix("sha256:")
    if not _SHA256.match(text):
        raise ValidationError(
            field, f"{value!r} is not a sha256: give its 64 hex digits (what `sha256sum FILE` prints first)"
        )
    return text
