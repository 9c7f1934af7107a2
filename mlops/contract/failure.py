"""Running an algorithm's entry point under the contract's failure rules.

A failing job writes its reason to /opt/ml/output/failure (SageMaker shows the first 1024
characters as FailureReason) and exits non-zero. No os._exit, no work at import.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

from mlops.contract.errors import AlgorithmError
from mlops.contract.layout import Layout

FAILURE_REASON_LIMIT = 1024


def write_failure(layout: Layout, reason: str) -> None:
    layout.failure_file.parent.mkdir(parents=True, exist_ok=True)
    layout.failure_file.write_text(reason)


def run_training(train: Callable[[Layout], None], layout: Layout | None = None) -> int:
    """Call ``train(layout)``; on error write the failure file and return a non-zero exit code."""
    lay = layout or Layout.from_env()
    try:
        train(lay)
    except AlgorithmError as e:
        write_failure(lay, f"AlgorithmError: {e}")
        print(f"AlgorithmError: {e}", file=sys.stderr, flush=True)
        return 2
    except Exception as e:  # an unexpected crash: keep the trace in the log, the gist in the reason
        traceback.print_exc()
        write_failure(lay, f"InternalError: {type(e).__name__}: {e}")
        return 1
    return 0
