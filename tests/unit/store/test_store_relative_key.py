"""Listed object keys become local file names only through ``relative_key``, which refuses any key that
could land outside the folder (a remote key can hold anything)."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from mlops.core.errors import ValidationError
from mlops.store.interface import relative_key


@pytest.mark.parametrize(
    ("uri", "prefix", "expected"),
    [
        ("s3://b/train/part-0.csv", "s3://b/train/", "part-0.csv"),
        ("s3://b/train/sub/part-1.csv", "s3://b/train", "sub/part-1.csv"),
        ("s3://b/train/one.csv", "s3://b/train/one.csv", "one.csv"),  # the prefix is the object itself
        ("/data/train/a..b.csv", "/data/train", "a..b.csv"),  # dots inside a name are a name
    ],
)
def test_keys_below_the_prefix(uri: str, prefix: str, expected: str) -> None:
    assert relative_key(uri, prefix) == PurePosixPath(expected)


@pytest.mark.parametrize(
    "key",
    [
        "train/../../../../x.csv",
        "train/sub/../x.csv",
        "train/./x.csv",
        "train//x.csv",
        "train///etc/passwd",
        "train/a\\..\\..\\x.csv",
        "train/a\x00.csv",
    ],
)
def test_hostile_keys_are_refused_naming_the_key(key: str) -> None:
    uri = f"s3://bucket/{key}"
    with pytest.raises(ValidationError) as e:
        relative_key(uri, "s3://bucket/train/")
    assert repr(uri) in e.value.field


def test_a_key_outside_the_prefix_or_a_dot_name_is_refused() -> None:
    with pytest.raises(ValidationError, match="is not under"):
        relative_key("s3://other/x.csv", "s3://bucket/train/")
    with pytest.raises(ValidationError):
        relative_key("s3://bucket/train/..", "s3://bucket/train/..")
