"""The fuzz folder's hypothesis profile: bounded for `make test`, longer by hand.

- ``MLOPS_FUZZ_EXAMPLES`` (default 250: about 80 s for the folder on this 2-core machine): examples per
  property; the costlier properties run a share of it. To fuzz for real:
  ``MLOPS_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/fuzz -p no:cacheprovider``.
- Under CI (``CI`` set) the run is derandomized, so the gate is reproducible, and no example database is
  written; elsewhere failures are remembered in ``tests/fuzz/.hypothesis/`` (git-ignored) and replayed first.
- The committed seeds are files under ``seeds/<surface>/`` (one per interesting input, crashes found
  included): every one is replayed as is and used as a starting point for mutations. A crash found by
  hand is kept there, and as an ``@example`` on the property that found it.
- The terminal summary says how many executions ran (``MLOPS_FUZZ_VERBOSE=1``: per property).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase

from tests.fuzz.model_server import running_model_server
from tests.fuzz.rules import EXAMPLES, EXECUTIONS, IN_CI, SECONDS

HOME = Path(__file__).parent / ".hypothesis"  # git-ignored: hypothesis's caches, and outside CI its database
set_hypothesis_home_dir(str(HOME))
settings.register_profile(
    "mlops-fuzz",
    max_examples=EXAMPLES,
    # a single example past this fails (after a confirming re-run): slow paths are bugs too; hangs are
    # caught by the per-test timeout below
    deadline=timedelta(seconds=5),
    derandomize=IN_CI,
    database=None if IN_CI else DirectoryBasedExampleDatabase(HOME / "examples"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile(os.environ.get("MLOPS_FUZZ_PROFILE", "mlops-fuzz"))


@pytest.fixture(scope="session")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The port of one contract model server (payload codecs behind serve()), shared by the fuzz tests."""
    with running_model_server(tmp_path_factory.mktemp("model-server")) as port:
        yield port


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(max(120, EXAMPLES * 2)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not EXECUTIONS:
        return
    total = sum(EXECUTIONS.values())
    seconds = sum(SECONDS.values())
    terminalreporter.write_line(
        f"fuzz: {total} executions of {len(EXECUTIONS)} properties in {seconds:.1f} s "
        f"(MLOPS_FUZZ_EXAMPLES={EXAMPLES}{', derandomized' if IN_CI else ''})"
    )
    if os.environ.get("MLOPS_FUZZ_VERBOSE"):
        for name, count in EXECUTIONS.most_common():
            terminalreporter.write_line(f"  {name}: {count} in {SECONDS[name]:.1f} s")
