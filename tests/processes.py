"""Finding the processes a test started, by what their environment says (for orphan checks)."""

from __future__ import annotations

from collections.abc import Callable


def live_processes_whose_environment(matches: Callable[[dict[str, str]], bool]) -> list[str]:
    """``"PID command"`` of every live (not zombie) process whose environment ``matches``."""
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if matches(process.environ()) and process.status() != psutil.STATUS_ZOMBIE:
                found.append(f"{process.pid} {' '.join(process.info['cmdline'] or [])[:120]}")
        except (psutil.Error, OSError):
            continue
    return found
