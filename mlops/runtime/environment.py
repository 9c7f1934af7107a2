"""The environment an algorithm's process gets from a local runtime: an allow-list of the launcher's
variables, then what the job or model declares, then the runtime's own.

The launcher (a CLI, an Airflow task, the control process) holds credentials and connection strings —
AWS keys, ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``, webhook URLs in ``MLOPS_*`` settings — that an
algorithm has no business seeing, so none of its variables pass unless listed here: what a process
needs to run at all (PATH, HOME, the locale, the time zone, the temporary folder), thread-count
settings of the numeric libraries, SageMaker's own ``SAGEMAKER_*`` settings and the contract's.
Containers inherit nothing of the host's (docker.py, docker_server.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

INHERITED_VARIABLES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TERM",
        # how the interpreter runs, never what it loads
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED",
        "PYTHONIOENCODING",
        "PYTHONUTF8",
        # thread counts of the numeric libraries (OMP_* and MKL_* below)
        "OPENBLAS_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "NUMEXPR_MAX_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        # the contract's own settings (mlops/contract/serving.py)
        "MLOPS_MAX_PAYLOAD_BYTES",
    }
)
INHERITED_PREFIXES = ("LC_", "SAGEMAKER_", "OMP_", "MKL_")


def inherited(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The launcher's variables an algorithm may see (``environ`` defaults to this process's)."""
    source = os.environ if environ is None else environ
    return {k: v for k, v in source.items() if k in INHERITED_VARIABLES or k.startswith(INHERITED_PREFIXES)}


def process_environment(
    declared: Mapping[str, str], runtime: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The whole environment of an algorithm's process: the allow-listed launcher variables, the
    declared ``Environment`` (validated by the record), then the runtime's own, which always win."""
    return {**inherited(environ), **declared, **runtime}
