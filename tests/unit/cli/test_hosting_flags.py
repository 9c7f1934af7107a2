"""The hosting commands' specs: one KEY=VALUE parser, and a bad item is an error naming it."""

from __future__ import annotations

import pytest

from mlops.cli.hosting_flags import parse_variant, parse_weights
from mlops.core.errors import ValidationError


def test_weights_and_capacities() -> None:
    assert parse_weights(["blue=0.8", "green=0.2:3", "red=:2"]) == ({"blue": 0.8, "green": 0.2}, {"green": 3, "red": 2})


@pytest.mark.parametrize("item", ["blue=", "blue=:"])
def test_an_item_that_sets_nothing_is_refused_by_name(item: str) -> None:
    with pytest.raises(ValidationError, match=f"{item!r} gives neither a weight nor an instance count") as e:
        parse_weights(["green=0.5", item])
    assert e.value.field == "--variant"


@pytest.mark.parametrize("item", ["blue", "=0.5"])
def test_an_item_without_a_name_is_refused(item: str) -> None:
    with pytest.raises(ValidationError, match="is not VARIANT=WEIGHT"):
        parse_weights([item])


def test_a_variant_spec_with_a_bad_item_names_it() -> None:
    with pytest.raises(ValidationError, match="'weight' is not KEY=VALUE"):
        parse_variant("name=blue,model=m1,weight")
