"""A detached job for the tests: ``python -m tests.unit.jobs.detached_child FOLDER`` writes what it was given
to FOLDER/seen.txt and sleeps until SIGTERM."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    folder = Path(sys.argv[1])
    stdin_empty = sys.stdin.read() == ""
    (folder / "seen.txt").write_text(
        f"{os.environ.get('DETACHED_TEST', '')} {os.getsid(0) == os.getpid()} {stdin_empty}"
    )
    print("started", flush=True)
    time.sleep(60)
