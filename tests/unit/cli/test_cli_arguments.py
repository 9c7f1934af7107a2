"""NAME=VALUE options: refused the moment argparse reads them, with the flag and an example."""

from __future__ import annotations

import argparse

import pytest

from mlops.cli import build_parser
from mlops.cli.arguments import as_dict, key_value, split_key_value
from mlops.core.errors import ValidationError


def test_a_value_may_hold_equals_signs_and_spaces_are_trimmed() -> None:
    parse = key_value("--metric", "loss=loss: ([0-9.]+)")
    assert parse("rmse = rmse=([0-9.]+)") == ("rmse", "rmse=([0-9.]+)")
    assert parse("empty=") == ("empty", "")


@pytest.mark.parametrize("item", ["num_round", "=10", " =10", ""])
def test_an_item_without_a_name_and_equals_is_refused_with_an_example(item: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as info:
        key_value("--hp", "num_round=10")(item)
    assert str(info.value) == f"takes NAME=VALUE (got {item!r}); e.g. --hp num_round=10"
    with pytest.raises(ValidationError, match=r"^--hp: takes NAME=VALUE"):
        split_key_value(item, "--hp", "num_round=10")


def test_a_name_given_twice_with_two_values_is_refused() -> None:
    assert as_dict([("a", "1"), ("b", "2"), ("a", "1")], "--hp") == {"a": "1", "b": "2"}
    with pytest.raises(ValidationError, match=r"--hp eta: given twice \('0.1' and '0.2'\); keep one"):
        as_dict([("eta", "0.1"), ("eta", "0.2")], "--hp")


def test_a_space_for_equals_fails_on_the_option_not_on_the_top_level_usage(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["train", "--train", "t.csv", "--hp", "num_round", "10"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: mlops train ")
    assert err.strip().endswith("mlops train: error: argument --hp: takes NAME=VALUE (got 'num_round'); e.g. --hp num_round=10")
    args = parser.parse_args(["train", "--train", "t.csv", "--hp", "num_round=10", "--hp", "eta=0.2"])
    assert args.hp == [("num_round", "10"), ("eta", "0.2")] and args.debug is False
    assert parser.parse_args(["--debug", "jobs"]).debug and parser.parse_args(["jobs", "--debug"]).debug
