"""The ``mlops`` command: parses, calls services, prints. No logic of its own.

Each module of this package holds the commands of one area; the parser below wires them.

Run ``mlops --help`` or ``mlops COMMAND --help``.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import os
import sys
import traceback
from collections.abc import Sequence

from mlops.cli.credentials import add_credentials_parser
from mlops.cli.data import add_data_parser
from mlops.cli.demo import add_demo_parser
from mlops.cli.failures import failure_line
from mlops.cli.hosting import add_hosting_parser
from mlops.cli.images import add_images_parser
from mlops.cli.monitoring import add_monitoring_parsers
from mlops.cli.registry import add_registry_parser
from mlops.cli.training import add_training_parsers
from mlops.cli.tuning import add_tuning_parsers
from mlops.core.errors import MlopsError

EPILOG = """examples:
  mlops demo
  mlops sample-data --out data
  mlops train --algorithm xgboost --train data/train.csv --validation data/validation.csv \\
      --hp objective=binary:logistic --hp num_round=200 --hp max_depth=5 --hp eta=0.2
  mlops jobs
  mlops jobs describe JOB
  mlops logs JOB
  mlops evaluate JOB --test data/test.csv
  mlops algorithms describe xgboost

exit status: 0 done; 1 failed (a job or a check that failed, or an unexpected error: --debug shows its
traceback); 2 refused (bad input: the one `error:` line says what to change). Some commands say more in
their --help (e.g. `mlops monitor run`).
"""
DEBUG_HELP = "on an unexpected error, print its traceback (also: MLOPS_DEBUG=1)"

# The last thing before the interpreter's teardown (atexit runs the first registered last): no garbage
# collection over every object still alive. After `mlops train` has used MLflow (two thousand modules)
# that teardown took longer than the tracking itself; atexit handlers, flushing and closing still run.
atexit.register(gc.freeze)


def _add_debug_everywhere(parser: argparse.ArgumentParser) -> None:
    """``--debug`` after the command too (``mlops evaluate JOB --debug``), without overriding one before it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in set(action.choices.values()):
                if not any("--debug" in a.option_strings for a in child._actions):
                    child.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
                _add_debug_everywhere(child)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlops",
        description="Train, tune, register, deploy and monitor models, SageMaker-style, on one machine.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_training_parsers(sub)
    add_demo_parser(sub)
    add_tuning_parsers(sub)
    add_images_parser(sub)
    add_hosting_parser(sub)
    add_data_parser(sub)
    add_registry_parser(sub)
    add_monitoring_parsers(sub)
    add_credentials_parser(sub)
    _add_debug_everywhere(parser)
    return parser


def _debug_from_environment() -> bool:
    return os.environ.get("MLOPS_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(args.debug) or _debug_from_environment()
    from mlops.settings import load_settings  # after parsing: `--help` needs no settings

    try:
        return int(args.func(args, load_settings()))
    except MlopsError as e:  # refused on purpose: the message says what to change
        if debug:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `mlops jobs | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as e:
        if debug:
            traceback.print_exc()
            return 1
        print(failure_line(e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
