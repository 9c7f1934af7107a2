"""What `mlops endpoints describe` and `mlops` itself show: columns named for what they hold, and a
command line that starts without loading the data stack."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from mlops.cli.hosting import describe_text
from mlops.core.hosting import Endpoint, EndpointStatus, ProductionVariantSummary


def test_the_variant_table_names_current_and_desired_weights_and_instances() -> None:
    now = datetime.now(UTC)
    endpoint = Endpoint(
        EndpointName="churn", EndpointArn="arn", EndpointConfigName="cfg", EndpointStatus=EndpointStatus.Updating,
        CreationTime=now, LastModifiedTime=now,
        ProductionVariants=(ProductionVariantSummary(VariantName="blue", ModelName="churn-v1", CurrentWeight=0.9,
                                                     DesiredWeight=0.5, CurrentInstanceCount=2, DesiredInstanceCount=3),),
    )
    lines = describe_text(endpoint).splitlines()
    header = next(line for line in lines if line.startswith("variants:"))
    assert "WEIGHT (now/desired)" in header and "INSTANCES (now/desired)" in header
    assert " DESIRED " not in header  # a bare DESIRED said neither what nor of what
    row = lines[lines.index(header) + 1].split()
    assert row == ["blue", "churn-v1", "0.9", "/", "0.5", "2", "/", "3"]


def test_the_command_line_loads_no_data_stack_at_start() -> None:
    """`mlops --help` and `mlops jobs` must not pay for pandas, MLflow or evidently (seconds on this machine)."""
    code = ("import sys, mlops.cli; from mlops.cli import build_parser; build_parser(); "
            "print(' '.join(sorted(m for m in ('pandas', 'mlflow', 'evidently', 'torch', 'great_expectations', "
            "'sklearn', 'xgboost', 'matplotlib') if m in sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""
