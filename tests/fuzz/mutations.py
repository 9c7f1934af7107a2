"""Structured mutations of valid inputs: what a fuzzer does to a seed, as hypothesis strategies.

Each mutation keeps most of a valid input and breaks a little of it (a flipped byte, a cut, a spliced
copy, a token of the format in the wrong place), so the reader gets past its first checks and into the
parsing of what follows; shrinking then finds the smallest input that still breaks it.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

# Bytes that matter to more than one format: separators, quotes, line ends, invalid UTF-8, odd numbers.
COMMON_TOKENS: tuple[bytes, ...] = (
    b"\n",
    b"\r",
    b"\r\n",
    b"\x00",
    b"\xff",
    b"\xc3",  # a UTF-8 lead byte without its continuation
    b"\xef\xbb\xbf",  # a byte-order mark
    b'"',
    b",",
    b":",
    b" ",
    b"\t",
    b"#",
    b"nan",
    b"NaN",
    b"inf",
    b"-inf",
    b"Infinity",
    b"1e39",
    b"1e309",
    b"-0",
    b"1_0",
    b"0x10",
    b"9" * 30,
    b"9" * 5000,  # past Python's int-string limit
)


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes], tokens: Sequence[bytes] = ()) -> bytes:
    """``base`` with one to four mutations applied."""
    data = bytearray(draw(base))
    vocabulary = tuple(tokens) + COMMON_TOKENS
    for _ in range(draw(st.integers(1, 4))):
        size = len(data)
        at = draw(st.integers(0, size))
        kind = draw(st.sampled_from(("flip", "cut", "insert", "delete", "duplicate", "token", "set", "repeat")))
        if kind == "flip" and size:
            index = min(at, size - 1)
            data[index] ^= draw(st.integers(1, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif kind == "duplicate" and size:
            start = draw(st.integers(0, size - 1))
            data[at:at] = data[start : start + draw(st.integers(1, 64))]
        elif kind == "token":
            data[at:at] = draw(st.sampled_from(vocabulary))
        elif kind == "set" and size:
            index = min(at, size - 1)
            data[index] = draw(st.sampled_from((0x00, 0x7F, 0x80, 0xFF)))
        elif kind == "repeat":  # very long lines, many fields, deep nesting
            chunk = draw(st.sampled_from(vocabulary)) if not size or draw(st.booleans()) else data[at : at + 8]
            data[at:at] = bytes(chunk) * draw(st.integers(2, 20_000 // max(1, len(chunk))))
    return bytes(data)
