"""What the commands' parsers share: ``NAME=VALUE`` options checked the moment argparse reads them, and
subcommands built with a description and an example.

``--hp num_round 10`` (a space for ``=``) fails on ``num_round`` with ``--hp takes NAME=VALUE``, instead
of leaving ``10`` to the top-level parser as an unrecognised argument.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import Any

from mlops.core.errors import ValidationError
from mlops.core.key_value import split_key_value as key_value_of

KeyValue = tuple[str, str]


def split_key_value(item: str, flag: str, example: str, form: str = "NAME=VALUE") -> KeyValue:
    """``"eta=0.2"`` → ``("eta", "0.2")``; the value may itself hold ``=`` (a regex, a URI)."""
    return key_value_of(item, flag, f"takes {form} (got {item!r}); e.g. {flag} {example}")


def key_value(flag: str, example: str, form: str = "NAME=VALUE") -> Callable[[str], KeyValue]:
    """An argparse ``type=`` for a repeatable ``NAME=VALUE`` option. argparse prints its message as
    ``argument --hp: takes NAME=VALUE (got 'num_round'); e.g. --hp num_round=10`` under the command's usage."""

    def parse(item: str) -> KeyValue:
        try:
            return split_key_value(item, flag, example, form)
        except ValidationError as e:
            raise argparse.ArgumentTypeError(e.message) from None

    parse.__name__ = form  # argparse names the type in some of its own messages
    return parse


def name_equals(flag: str, example: str, form: str) -> Callable[[str], str]:
    """Like ``key_value`` but keeps the text whole, for options with a syntax of their own (``--range``)."""
    check = key_value(flag, example, form)

    def parse(item: str) -> str:
        check(item)
        return item

    parse.__name__ = form
    return parse


def as_dict(pairs: Iterable[KeyValue], flag: str) -> dict[str, str]:
    """The pairs of a repeated option, refusing a name given twice (the second would silently win)."""
    out: dict[str, str] = {}
    for key, value in pairs:
        if key in out and out[key] != value:
            raise ValidationError(f"{flag} {key}", f"given twice ({out[key]!r} and {value!r}); keep one")
        out[key] = value
    return out


def add_runtime_argument(parser: argparse.ArgumentParser, what: str, servers: bool = False) -> None:
    """``--runtime NAME``: a row of the table of runtimes (mlops/runtime/table.py), checked when argparse
    reads it; the help lists the table's rows (``servers``: only those that run model servers)."""
    from mlops.runtime.table import DEFAULT_RUNTIME, runtime_entry, runtimes_help

    def parse(name: str) -> str:
        try:
            entry = runtime_entry(name)
            if servers:
                entry.check_serves()
        except ValidationError as e:
            raise argparse.ArgumentTypeError(e.message) from None
        return name

    parse.__name__ = "runtime"
    parser.add_argument(
        "--runtime", default=DEFAULT_RUNTIME, type=parse, metavar="RUNTIME", help=f"{what}: {runtimes_help(servers)}"
    )


def add_command(sub: Any, name: str, help: str, description: str, examples: str) -> argparse.ArgumentParser:
    """A subcommand whose --help has what a newcomer needs: a description and an example to copy."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=examples,
    )
    return parser
