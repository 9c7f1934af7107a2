"""README.md as a test: the newcomer's walkthrough, run top to bottom as written, on a fresh home.

The steps are the marked blocks of README.md (tests/readme/walkthrough.py says how they are marked and
holds the tables of what is not run, what runs smaller, and how placeholders are filled). The test runs them
in a temporary folder that looks like a fresh clone (the repository's top-level entries linked in, no
``.mlops/``, no ``data/``), with no ``MLOPS_*`` or ``AWS_*`` variables of the caller, and fails naming the
README line of the first step that exits non-zero or prints a traceback.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlops.runtime.health import free_port
from tests.readme.walkthrough import (
    BACKGROUND,
    DOCKER,
    EXIT_CODES,
    NOT_RUN,
    SMALLER,
    TRACEBACK,
    ReadmeError,
    Step,
    fill,
    program,
    smaller,
    walkthrough,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
STEP_TIMEOUT = 300


@dataclass
class Walk:
    """A fresh clone and what its steps printed so far."""

    root: Path
    env: dict[str, str]
    port: int
    output: str = ""
    ran: list[Step] = field(default_factory=list)
    docker: list[Step] = field(default_factory=list)
    background: list[tuple[Step, subprocess.Popen[str]]] = field(default_factory=list)
    seconds: float = 0.0
    timings: list[tuple[Step, float]] = field(default_factory=list)
    left_running: list[str] = field(default_factory=list)

    def activate(self) -> None:
        """What `source .venv/bin/activate` does to the commands after it: .venv/bin first on PATH."""
        venv = self.root / ".venv"
        self.env["VIRTUAL_ENV"] = str(venv)
        self.env["PATH"] = f"{venv / 'bin'}{os.pathsep}{self.env['PATH']}"

    def local(self, text: str) -> str:
        """The router listens on a free port, not 8085, so this test never meets another checkout's router."""
        return text.replace("127.0.0.1:8085", f"127.0.0.1:{self.port}")

    def run(self, step: Step) -> None:
        text = self.local(smaller(fill(step, self.output)))
        if step.language == "python":
            script = self.root / f"readme_line_{step.line}.py"
            script.write_text(text)
            argv = [str(self.root / ".venv" / "bin" / "python"), str(script)]
        else:
            argv = ["bash", "-c", text]
        if step.language == "sh" and program(step) in BACKGROUND:
            self.start(step, argv)
            return
        started = time.monotonic()
        try:
            result = subprocess.run(
                argv, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=STEP_TIMEOUT
            )
        except subprocess.TimeoutExpired as e:
            partial = "".join(x.decode() if isinstance(x, bytes) else x for x in (e.stdout, e.stderr) if x)
            pytest.fail(f"{step.where(README)}: `{text}` did not finish within {STEP_TIMEOUT} s\n{partial}")
        self.timings.append((step, time.monotonic() - started))
        print(f"{step.where(README)} {self.timings[-1][1]:6.1f} s  {text.splitlines()[0][:90]}", flush=True)
        printed = result.stdout + result.stderr
        self.output += printed
        self.ran.append(step)
        expected = EXIT_CODES.get(program(step), {0}) if step.language == "sh" else {0}
        if result.returncode not in expected or TRACEBACK in printed:
            what = "printed a traceback" if TRACEBACK in printed else f"exited {result.returncode}"
            if step.language == "python":
                printed = re.sub(
                    rf'File "{re.escape(str(script))}", line (\d+)',
                    lambda m: f"README.md line {step.line + int(m.group(1)) - 1}",
                    printed,
                )
            pytest.fail(f"{step.where(README)}: `{text}` {what}:\n{printed[-4000:]}", pytrace=False)

    def start(self, step: Step, argv: list[str]) -> None:
        process = subprocess.Popen(
            argv, cwd=self.root, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.background.append((step, process))
        path = BACKGROUND[program(step)]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                out = process.stdout.read() if process.stdout else ""
                pytest.fail(f"{step.where(README)}: `{step.text}` exited {process.returncode}:\n{out}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        pytest.fail(f"{step.where(README)}: `{step.text}` did not answer {path} within 60 s")

    def stop_background(self) -> None:
        for step, process in self.background:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # what Ctrl-C sends
            try:
                out, _ = process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                out, _ = process.communicate()
                pytest.fail(f"{step.where(README)}: `{step.text}` did not stop within 60 s of Ctrl-C:\n{out}")
            if process.returncode not in (0, -signal.SIGINT, 130) or TRACEBACK in out:
                pytest.fail(f"{step.where(README)}: `{step.text}` exited {process.returncode} on Ctrl-C:\n{out}")
        self.background.clear()


def processes_under(root: Path) -> list[str]:
    """``"PID command"`` of live processes working in ``root`` or naming it on their command line."""
    import psutil

    found: list[str] = []
    for _ in range(20):  # a model server may take a moment to exit after its owner did
        found = []
        for process in psutil.process_iter(["pid", "cmdline"]):
            try:
                line = " ".join(process.info["cmdline"] or [])
                if process.status() != psutil.STATUS_ZOMBIE and (
                    str(root) in line or Path(process.cwd()).is_relative_to(root)
                ):
                    found.append(f"{process.pid} {line[:160]}")
            except (psutil.Error, OSError):
                continue
        if not found:
            break
        time.sleep(0.5)
    return found


def fresh_clone(root: Path) -> None:
    """The repository's tracked top-level entries linked into ``root``, and the checkout's .venv."""
    tracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for name in sorted({Path(p).parts[0] for p in tracked}):
        if (REPO / name).exists():
            (root / name).symlink_to(REPO / name)
    (root / ".venv").symlink_to(Path(sys.prefix))


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walk]:
    root = tmp_path_factory.mktemp("clone")
    fresh_clone(root)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "AWS_", "VIRTUAL_ENV"))}
    venv_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    port = free_port()
    env["MLOPS_ROUTER_PORT"] = str(port)
    walk = Walk(root, env, port)
    started = time.monotonic()
    try:
        for step in walkthrough(README.read_text()):
            if step.language == "sh" and program(step) in NOT_RUN:
                continue
            if step.language == "sh" and DOCKER.search(step.text):
                walk.docker.append(step)
                continue
            walk.run(step)
            if step.language == "sh" and step.text.strip() == "source .venv/bin/activate":
                walk.activate()
        walk.stop_background()
        walk.left_running = processes_under(root)
    finally:
        for _, process in walk.background:
            process.kill()
            process.wait()
        walk.seconds = time.monotonic() - started
    yield walk


def test_the_walkthrough_runs_as_written(walk: Walk) -> None:
    print(f"\n{len(walk.ran)} README steps ran in {walk.seconds:.0f} s")
    assert walk.ran, "no step of the walkthrough ran"


def test_every_table_entry_matches_the_readme() -> None:
    steps = walkthrough(README.read_text())
    programs = {program(s) for s in steps if s.language == "sh"}
    stale = [k for k in [*NOT_RUN, *BACKGROUND] if k not in programs]
    assert not stale, f"not commands of the walkthrough any more: {stale}"
    text = README.read_text()
    missing = [readme_text for readme_text, _, _ in SMALLER if readme_text not in text]
    assert not missing, f"SMALLER names README text that is not there any more: {missing}"
    assert any(s.language == "python" for s in steps), "the walkthrough's Python snippet (boto3) is not marked"


def test_ctrl_c_on_the_router_leaves_nothing_running(walk: Walk) -> None:
    """The README: "Stop it with Ctrl-C: nothing is left running" (model servers included)."""
    assert walk.left_running == []


@pytest.mark.docker
def test_docker_commands(request: pytest.FixtureRequest) -> None:
    from tests.conformance.conftest import engine_or_skip

    engine_or_skip().close()  # before the walkthrough runs: without an engine there is nothing to wait for
    walk: Walk = request.getfixturevalue("walk")
    assert walk.docker, "the walkthrough has no Docker commands"
    for step in walk.docker:
        walk.run(step)


# The parser itself, on hostile READMEs.


def test_a_marker_without_a_block_is_refused() -> None:
    with pytest.raises(ReadmeError, match=r"README.md:3: <!-- walkthrough --> must be followed"):
        walkthrough("# t\n\n<!-- walkthrough -->\n\nsome prose\n")


def test_a_block_of_another_language_is_refused() -> None:
    with pytest.raises(ReadmeError, match=r"README.md:1: .*found '```bash'"):
        walkthrough("<!-- walkthrough -->\n```bash\nls\n```\n")


def test_an_unclosed_block_is_refused() -> None:
    with pytest.raises(ReadmeError, match=r"README.md:2: the ```sh block opened here is never closed"):
        walkthrough("<!-- walkthrough -->\n```sh\nls\n")


def test_a_trailing_backslash_at_the_end_of_a_block_is_refused() -> None:
    with pytest.raises(ReadmeError, match=r"README.md:3: the command ends in a backslash"):
        walkthrough("<!-- walkthrough -->\n```sh\nmlops train \\\n```\n")


def test_commands_keep_their_readme_lines_and_continuations() -> None:
    text = "x\n<!-- walkthrough -->\n```sh\n# a comment\nmlops a \\\n  --b 1   # why\n\nmlops c\n```\n```sh\nnot marked\n```\n"
    assert [(s.line, s.text) for s in walkthrough(text)] == [(5, "mlops a \\\n  --b 1   # why"), (8, "mlops c")]
    assert program(walkthrough(text)[0]) == "mlops a"


def test_a_placeholder_no_earlier_step_printed_is_refused() -> None:
    step = Step(12, "sh", "mlops evaluate JOB --test data/test.csv")
    with pytest.raises(ReadmeError, match=r"README.md:12: JOB is not printed by any earlier step"):
        fill(step, "nothing of the kind\n")
    assert fill(step, "training job a on the local runtime\ntraining job b-1 on the local runtime\n") == (
        "mlops evaluate b-1 --test data/test.csv"
    )
    assert fill(Step(1, "sh", "--model TRAINING_JOB"), "") == "--model TRAINING_JOB"  # a word, not a part of one
