"""The README's walkthrough as data: the marked blocks, their commands with README line numbers, and the
small explicit tables that say how the test runs them (placeholders, smaller sizes, what is not run).

A block is part of the walkthrough when the line before its opening fence is ``<!-- walkthrough -->`` (an
HTML comment: GitHub renders nothing for it). ```` ```sh ```` blocks hold shell commands, one per line, a
trailing backslash continuing it and ``#`` starting a comment; ```` ```python ```` blocks are run as scripts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MARKER = "<!-- walkthrough -->"
LANGUAGES = ("sh", "python")


class ReadmeError(ValueError):
    """The README's walkthrough markup is broken (a marker without a block, an unclosed block …)."""


@dataclass(frozen=True)
class Step:
    """One shell command or one Python snippet of the walkthrough, at its README line (1-based)."""

    line: int
    language: str  # "sh" or "python"
    text: str

    def where(self, readme: Path) -> str:
        return f"{readme.name}:{self.line}"


def walkthrough(text: str) -> list[Step]:
    """The steps of every marked block, in README order."""
    lines = text.splitlines()
    steps: list[Step] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != MARKER:
            i += 1
            continue
        marker_line = i + 1
        i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        fence = lines[i].strip() if i < len(lines) else ""
        language = fence[3:].strip()
        if not fence.startswith("```") or language not in LANGUAGES:
            raise ReadmeError(
                f"README.md:{marker_line}: {MARKER} must be followed by a ```sh or ```python block, found {fence!r}"
            )
        start = i + 1  # index of the block's first line
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise ReadmeError(f"README.md:{i + 1}: the ```{language} block opened here is never closed")
        body = lines[start:end]
        if language == "python":
            steps.append(Step(start + 1, language, "\n".join(body) + "\n"))
        else:
            steps.extend(_commands(body, start + 1))
        i = end + 1
    return steps


def _commands(body: list[str], first_line: int) -> list[Step]:
    steps = []
    pending: list[str] = []
    pending_line = 0
    for offset, raw in enumerate(body):
        if not pending:
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            pending_line = first_line + offset
        pending.append(raw.rstrip())
        if raw.rstrip().endswith("\\"):
            continue
        steps.append(Step(pending_line, "sh", "\n".join(pending)))
        pending = []
    if pending:
        raise ReadmeError(f"README.md:{pending_line}: the command ends in a backslash at the end of its block")
    return steps


def program(step: Step) -> str:
    """A shell command's program and subcommands (``mlops data split``): what the tables below key on."""
    words = []
    for word in step.text.replace("\\\n", " ").split():
        if word.startswith(("-", "#")) or not re.fullmatch(r"[a-z][a-z0-9.-]*", word):
            break
        words.append(word)
    return " ".join(words)


# Not run, each with the reason. Keyed by the command's first words; a key that matches no command of the
# walkthrough fails the test (the table would be stale).
NOT_RUN = {
    "make demo": "boots `airflow standalone` and runs the whole pipeline (~2.5 min on 2 cores); "
    "tests/airflow/test_e2e_rest.py runs it",
    "make test": "the whole suite, this test included",
    "make up": "Airflow, MLflow and the router in the foreground until Ctrl-C; tests/airflow/test_make_up.py runs it",
    "make engine": "installs Debian's docker.io as root and starts dockerd: not something a test does to the machine; "
    "the Docker commands below run when an engine answers",
}

# Commands that need a running Docker engine: run by test_docker_commands only when one answers
# (tests/conformance/conftest.py: engine_or_skip), in README order, on the same home.
DOCKER = re.compile(r"--runtime docker|^mlops images\b")

# Commands the README runs in the foreground of another terminal: the test starts them in the background,
# waits until they answer, and stops them with SIGINT (Ctrl-C) after the last step.
BACKGROUND = {"mlops router": "/ping"}

# Flags whose README values make the walkthrough slow; the test runs the same command with smaller ones.
# (README text, what the test runs instead, why). Every README text must be found, once or more.
SMALLER = [
    ("--max-jobs 30 --max-parallel 2", "--max-jobs 2 --max-parallel 2", "30 tuning jobs take minutes"),
    ("--static num_round=300", "--static num_round=30", "two short jobs suffice to prove the command"),
    ("--wait-interval 60", "--wait-interval 1", "each canary step bakes a minute"),
    ("--termination-wait 120", "--termination-wait 0", "the old fleet is kept two minutes"),
]

# Placeholders the README leaves for the reader, filled from the output of an earlier step: the most
# recent match of the pattern in any earlier step's output (stdout and stderr).
PLACEHOLDERS = {
    "JOB": re.compile(r"^training job (\S+) on the \w+ runtime$", re.M),
    "SPLIT": re.compile(r"--train (\S+)/train\.csv\b"),
}
_PLACEHOLDER = re.compile(r"\b(" + "|".join(PLACEHOLDERS) + r")\b")

# Exit codes other than 0 that a step's README comment documents as a normal outcome.
EXIT_CODES = {"mlops monitor run": {0, 1}}  # "exit 0 clean, 1 violations, 3 failed"

TRACEBACK = "Traceback (most recent call last)"


def fill(step: Step, earlier_output: str) -> str:
    """The step's text with every placeholder filled from earlier output (ReadmeError if one cannot be)."""

    def value(match: re.Match[str]) -> str:
        found = PLACEHOLDERS[match.group(1)].findall(earlier_output)
        if not found:
            raise ReadmeError(
                f"README.md:{step.line}: {match.group(1)} is not printed by any earlier step of the walkthrough"
            )
        return str(found[-1])

    return _PLACEHOLDER.sub(value, step.text)


def smaller(text: str) -> str:
    for readme_text, test_text, _ in SMALLER:
        text = text.replace(readme_text, test_text)
    return text
