"""The environment variables a training job or a model may declare (their ``Environment`` field).

A declared variable reaches the algorithm's process or container as it is, so variables that change
which code a process loads before the algorithm's own code runs (the dynamic loader's ``LD_*``, the
interpreter's ``PYTHONPATH``/``PYTHONSTARTUP``/…, a shell's ``BASH_ENV``/``ENV``, exported bash
functions) are refused at record validation, naming the field and the variable. Names follow
SageMaker's pattern for Environment keys; a value may not hold a NUL byte (no process could get it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator

from mlops.core.errors import ValidationError

# Each of these makes a process load or run code of the declarer's choosing before (or instead of)
# the algorithm's own: the dynamic loader, the Python interpreter, shells, and other runtimes a
# container may start (perl, ruby, node, the JVM), plus glibc's iconv module path.
REFUSED_VARIABLES = frozenset(
    {
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "PYTHONINSPECT",
        "PYTHONUSERBASE",
        "PYTHONEXECUTABLE",
        "PYTHONPLATLIBDIR",
        "PYTHONBREAKPOINT",
        "BASH_ENV",
        "ENV",
        "SHELLOPTS",
        "BASHOPTS",
        "PS4",
        "PERL5OPT",
        "PERL5LIB",
        "PERLLIB",
        "RUBYOPT",
        "RUBYLIB",
        "NODE_OPTIONS",
        "JAVA_TOOL_OPTIONS",
        "_JAVA_OPTIONS",
        "GCONV_PATH",
    }
)
REFUSED_PREFIXES = ("LD_", "DYLD_", "BASH_FUNC_")

_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,1023}$")  # SageMaker's Environment key pattern


def is_refused(name: str) -> bool:
    """Whether ``name`` is a loader variable no job or model may declare."""
    return name.upper() in REFUSED_VARIABLES or name.upper().startswith(REFUSED_PREFIXES)


def check_environment(environment: Mapping[str, str], field: str = "Environment") -> dict[str, str]:
    """``environment`` unchanged, or a ValidationError naming ``field`` and the first bad variable."""
    for name, value in environment.items():
        if is_refused(name):
            raise ValidationError(
                field,
                f"{name} may not be set: it changes which code the process loads before the algorithm runs "
                "(refused: the loader's LD_* and DYLD_*, PYTHONPATH, PYTHONHOME, PYTHONSTARTUP and the other "
                "interpreter start-up variables, BASH_ENV, ENV, exported shell functions)",
            )
        if not _NAME.match(name):
            raise ValidationError(
                field, f"{name!r} is not a valid variable name: letters, digits and _, not starting with a digit"
            )
        if "\x00" in value:
            raise ValidationError(field, f"{name}: the value holds a NUL byte")
    return dict(environment)


DeclaredEnvironment = Annotated[dict[str, str], AfterValidator(check_environment)]
"""The type of a record's ``Environment`` field: a str → str mapping checked by check_environment."""
