"""The export lines survive any value: eval sets exactly the value and runs nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlops.services.aws_access import AwsAccess


def test_hostile_values_are_quoted(tmp_path: Path) -> None:
    secret = "a'b\"c $(touch PWNED) `touch PWNED2`; rm -rf x\nnext"
    access = AwsAccess("AKIAEXAMPLE", secret, "us-east-1", "http://127.0.0.1:1/$(touch PWNED3)")
    script = access.shell_exports() + 'printf "%s|%s" "$AWS_SECRET_ACCESS_KEY" "$AWS_ENDPOINT_URL_SAGEMAKER"'
    out = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert out == f"{secret}|http://127.0.0.1:1/$(touch PWNED3)"
    assert list(tmp_path.iterdir()) == []


def test_the_secret_is_not_in_the_repr() -> None:
    assert "s3cr3t" not in repr(AwsAccess("AKIAEXAMPLE", "s3cr3t", "us-east-1", "http://h:1"))
