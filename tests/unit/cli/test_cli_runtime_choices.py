"""``--runtime`` everywhere takes a row of the table of runtimes: the help lists the rows, an unknown
name is refused when argparse reads it, and a registered row is accepted with no edit to the CLI."""

from __future__ import annotations

import pytest

from mlops.cli import build_parser
from mlops.runtime import table
from mlops.runtime.table import RuntimeEntry

COMMANDS = {  # command line before --runtime, whether it needs a runtime that runs model servers
    "train": (["train", "--train", "t.csv"], False),
    "tune": (["tune", "--algorithm", "xgboost", "--train", "t.csv", "--objective", "validation:auc"], False),
    "evaluate": (["evaluate", "job", "--test", "t.csv"], True),
    "registry register": (["registry", "register", "churn", "--job", "job"], True),
    "registry evaluate": (["registry", "evaluate", "churn", "--version", "1"], True),
    "router": (["router"], True),
}
EXTRA = RuntimeEntry(
    name="extra",
    description="somewhere else",
    training="mlops.runtime.local_process:LocalProcessRuntime",
    executor="mlops.runtime.executor:start_local",
)


def _help(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*command.split(), "--help"])
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_runtime_option_lists_the_tables_rows(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(command, capsys)
    assert "local (a process on this machine, default)" in text
    assert "docker (a container on the local Docker engine)" in text


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_unknown_runtime_is_refused_when_read(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv, _ = COMMANDS[command]
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([*argv, "--runtime", "nope"])
    assert info.value.code == 2
    assert "argument --runtime: 'nope' is not a runtime; choose one of local, docker" in capsys.readouterr().err
    assert build_parser().parse_args(argv).runtime == "local"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_registered_runtime_is_accepted_where_it_fits(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(table._TABLE, EXTRA.name, EXTRA)
    argv, servers = COMMANDS[command]
    if servers:  # it runs no model servers
        assert "extra" not in _help(command, capsys)
        with pytest.raises(SystemExit):
            build_parser().parse_args([*argv, "--runtime", "extra"])
        assert "runtime 'extra' runs no model servers" in capsys.readouterr().err
    else:
        assert "extra (somewhere else)" in _help(command, capsys)
        assert build_parser().parse_args([*argv, "--runtime", "extra"]).runtime == "extra"
