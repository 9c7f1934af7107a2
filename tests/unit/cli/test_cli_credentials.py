"""`mlops credentials`: the exports and the profile are what boto3 itself reads."""

from __future__ import annotations

import configparser
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mlops.cli import main

PROBE = (
    "import boto3; s = boto3.Session(%s); c = s.get_credentials(); "
    "print(c.access_key, c.secret_key, s.region_name, s.client('sagemaker').meta.endpoint_url, "
    "s.client('sagemaker-runtime').meta.endpoint_url)"
)


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLOPS_"))}
    env.update(
        MLOPS_HOME=str(tmp_path / "home"),
        MLOPS_ROUTER_HOST="127.0.0.1",
        MLOPS_ROUTER_PORT="18123",
        MLOPS_REGION="eu-west-1",
        HOME=str(tmp_path / "user"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws" / "credentials"),
        AWS_CONFIG_FILE=str(tmp_path / "aws" / "config"),
    )
    return env


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = _environment(tmp_path)
    for key in list(os.environ):
        if key.startswith(("AWS_", "MLOPS_")):
            monkeypatch.delenv(key)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def _home_pair(env: dict[str, str]) -> tuple[str, str]:
    parser = configparser.ConfigParser()
    parser.read(Path(env["MLOPS_HOME"]) / "credentials")
    return parser["default"]["aws_access_key_id"], parser["default"]["aws_secret_access_key"]


def test_eval_of_the_shell_exports_reaches_boto3(env: dict[str, str]) -> None:
    mlops = f"{sys.executable} -m mlops"
    probe = PROBE % ""
    script = f'eval "$({mlops} credentials --shell)" && {sys.executable} -c "{probe}"'
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    key_id, secret = _home_pair(env)
    url = "http://127.0.0.1:18123"
    assert out.split() == [key_id, secret, "eu-west-1", url, url]
    assert stat.S_IMODE((Path(env["MLOPS_HOME"]) / "credentials").stat().st_mode) == 0o600


def test_the_exports_are_quoted(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["credentials", "--shell"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split("=", 1)[0] for line in lines]
    assert names == [
        "export AWS_ACCESS_KEY_ID",
        "export AWS_SECRET_ACCESS_KEY",
        "export AWS_DEFAULT_REGION",
        "export AWS_ENDPOINT_URL_SAGEMAKER",
        "export AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
    ]
    secret = _home_pair(env)[1]
    assert any(line == f"export AWS_SECRET_ACCESS_KEY='{secret}'" or line.endswith(f"={secret}") for line in lines)


def test_plain_command_explains_and_hides_the_secret(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["credentials"]) == 0
    out = capsys.readouterr().out
    key_id, secret = _home_pair(env)
    assert key_id in out and secret not in out
    assert "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://127.0.0.1:18123" in out
    assert 'eval "$(mlops credentials --shell)"' in out and "--profile NAME" in out


@pytest.mark.parametrize("name", ["default", "mlops-local"])
def test_the_profile_is_what_boto3_reads_and_others_are_kept(env: dict[str, str], name: str) -> None:
    aws = Path(env["AWS_CONFIG_FILE"]).parent
    aws.mkdir()
    Path(env["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        "[work]\naws_access_key_id = AKIAWORK\naws_secret_access_key = s%cret\n"
    )
    Path(env["AWS_CONFIG_FILE"]).write_text(
        "[profile work]\nregion = ap-south-1\ns3 =\n  max_concurrent_requests = 4\n"
    )
    assert main(["credentials", "--profile", name]) == 0
    assert main(["credentials", "--profile", name]) == 0  # again: replaced, not duplicated
    probe = PROBE % f"profile_name={name!r}"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
    key_id, secret = _home_pair(env)
    url = "http://127.0.0.1:18123"
    assert out.split() == [key_id, secret, "eu-west-1", url, url]
    work = PROBE % "profile_name='work'"
    out = subprocess.run([sys.executable, "-c", work], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split()[:3] == ["AKIAWORK", "s%cret", "ap-south-1"]
    assert "max_concurrent_requests = 4" in Path(env["AWS_CONFIG_FILE"]).read_text()
    for path in (env["AWS_CONFIG_FILE"], env["AWS_SHARED_CREDENTIALS_FILE"]):
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600


def test_new_files_are_private(env: dict[str, str]) -> None:
    assert main(["credentials", "--profile", "p1"]) == 0
    for path in (env["AWS_CONFIG_FILE"], env["AWS_SHARED_CREDENTIALS_FILE"]):
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600


@pytest.mark.parametrize("name", ["", "a b", "x]\n[default", "../x", "p;rm", "é", "a" * 65, "work\n"])
def test_hostile_profile_names_are_refused(env: dict[str, str], name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["credentials", "--profile", name]) == 2
    err = capsys.readouterr().err
    assert "--profile" in err and repr(name) in err
    assert not Path(env["AWS_CONFIG_FILE"]).exists() and not Path(env["AWS_SHARED_CREDENTIALS_FILE"]).exists()


def test_shell_and_profile_exclude_each_other(env: dict[str, str]) -> None:
    with pytest.raises(SystemExit):
        main(["credentials", "--shell", "--profile", "x"])


def test_help_teaches(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["credentials", "--help"])
    out = capsys.readouterr().out
    assert 'eval "$(mlops credentials --shell)"' in out and "AWS_CONFIG_FILE" in out
