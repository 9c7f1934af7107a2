"""The ``mlops`` command: parses, calls services, prints. No logic of its own.

Each module of this package holds the commands of one area; the parser below wires them.

Run ``mlops --help`` or ``mlops COMMAND --help``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mlops.cli.data import add_data_parser
from mlops.cli.demo import add_demo_parser
from mlops.cli.hosting import add_hosting_parser
from mlops.cli.images import add_images_parser
from mlops.cli.monitoring import add_monitoring_parsers
from mlops.cli.registry import add_registry_parser
from mlops.cli.training import (
    cmd_algorithms,
    cmd_evaluate,
    cmd_jobs,
    cmd_logs,
    cmd_sample_data,
    cmd_train,
)
from mlops.cli.tuning import add_tuning_parsers
from mlops.core.errors import MlopsError
from mlops.settings import load_settings

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
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlops",
        description="Train, tune, register, deploy and monitor models, SageMaker-style, on one machine.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "train",
        help="run a training job with a built-in or your own algorithm",
        description="Run a training job as SageMaker would: channels, string hyperparameters, "
        "metrics from the log, model.tar.gz in the artifact store.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  mlops train --algorithm xgboost --train data/train.csv "
        "--validation data/validation.csv \\\n      --hp objective=binary:logistic "
        "--hp num_round=200\n\nSee an algorithm's hyperparameters with "
        "`mlops algorithms describe NAME`.",
    )
    p.add_argument("--algorithm", help="an algorithm folder under algorithms/ (see `mlops algorithms`)")
    p.add_argument("--train", required=True, help="training data: a file, a folder, file:// or s3:// URI")
    p.add_argument("--validation", help="validation data (metrics, early stopping)")
    p.add_argument("--channel", action="append", default=[], metavar="NAME=PATH", help="any other channel")
    p.add_argument("--hp", action="append", default=[], metavar="NAME=VALUE", help="a hyperparameter (repeat)")
    p.add_argument(
        "--content-type",
        default="text/csv",
        help="channel content type: text/csv (label first), text/libsvm, "
        "application/x-recordio-protobuf (default text/csv)",
    )
    p.add_argument("--input-mode", choices=["File", "Pipe"], default="File", help="File (default) or Pipe")
    p.add_argument("--runtime", default="local", help="local (a process, default) or docker")
    p.add_argument("--image", help="with --runtime docker: any image that follows the SageMaker contract")
    p.add_argument("--metric", action="append", default=[], metavar="NAME=REGEX",
                   help="with --image: a metric to read from the log (the regex's first group is the value)")
    p.add_argument("--job-name", help="default: ALGORITHM-TIMESTAMP")
    p.add_argument("--cpus", type=float, help="CPU limit")
    p.add_argument("--memory-mib", type=int, help="memory limit in MiB")
    p.add_argument("--max-runtime", type=int, default=86400, help="MaxRuntimeInSeconds (default 86400)")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="an environment variable")
    p.add_argument("--network", action="store_true", help="allow network access (docker; default: isolated)")
    p.add_argument("--no-wait", action="store_true", help="start the job and return")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("jobs", help="list, describe or stop training jobs")
    p.add_argument("action", nargs="?", choices=["list", "describe", "stop"], default="list")
    p.add_argument("job", nargs="?", help="job name (describe, stop)")
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("logs", help="print a training job's log")
    p.add_argument("job")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until the job ends")
    p.set_defaults(func=cmd_logs)

    p = sub.add_parser("evaluate", help="serve a trained model and score it on a label-first CSV")
    p.add_argument("job")
    p.add_argument("--test", required=True, help="label-first CSV without header")
    p.add_argument("--runtime", default="local", help="where the model server runs: local or docker")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("algorithms", help="list algorithms or describe one's hyperparameters")
    p.add_argument("action", nargs="?", choices=["list", "describe"], default="list")
    p.add_argument("name", nargs="?")
    p.set_defaults(func=cmd_algorithms)

    p = sub.add_parser("sample-data", help="write the bundled churn dataset and its splits")
    p.add_argument("--out", default="data")
    p.add_argument("--rows", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=cmd_sample_data)
    add_demo_parser(sub)
    add_tuning_parsers(sub)
    add_images_parser(sub)
    add_hosting_parser(sub)
    add_data_parser(sub)
    add_registry_parser(sub)
    add_monitoring_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args, load_settings()))
    except MlopsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
