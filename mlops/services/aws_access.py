"""How boto3 and the SageMaker SDK reach this home's control API: its key pair, the region and the
router's URL as the SageMaker and SageMaker Runtime endpoints, as ``export`` lines for a shell or as a
named profile in the AWS shared credentials and config files (``mlops credentials``)."""

from __future__ import annotations

import configparser
import io
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from mlops.core.errors import ValidationError
from mlops.core.files import write_atomic
from mlops.hosting.credentials import ControlCredentials
from mlops.services.hosting_wiring import router_address
from mlops.settings import Settings

PROFILE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# botocore's service identifiers: in AWS_ENDPOINT_URL_<ID> upper-case, in a config ``services`` section as is.
SERVICES = ("sagemaker", "sagemaker_runtime")


@dataclass(frozen=True)
class AwsAccess:
    """What an AWS client needs to call this home's SageMaker API."""

    AccessKeyId: str
    SecretAccessKey: str = field(repr=False)
    Region: str
    EndpointUrl: str  # the router, for both SageMaker and SageMaker Runtime

    def environment(self) -> dict[str, str]:
        values = {
            "AWS_ACCESS_KEY_ID": self.AccessKeyId,
            "AWS_SECRET_ACCESS_KEY": self.SecretAccessKey,
            "AWS_DEFAULT_REGION": self.Region,
        }
        values.update({f"AWS_ENDPOINT_URL_{service.upper()}": self.EndpointUrl for service in SERVICES})
        return values

    def shell_exports(self) -> str:
        """``export NAME=VALUE`` lines, quoted, for ``eval "$(mlops credentials --shell)"``."""
        return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in self.environment().items())


def aws_access(settings: Settings) -> AwsAccess:
    """The home's key pair (created, mode 0600, if it has none yet), region and router URL."""
    credentials = ControlCredentials.for_home(settings.home)
    return AwsAccess(
        credentials.AccessKeyId, credentials.SecretAccessKey, settings.region, f"http://{router_address(settings)}"
    )


def check_profile_name(name: str) -> str:
    if not PROFILE_NAME.fullmatch(name):
        raise ValidationError("--profile", f"{name!r} is not a profile name: 1-64 of A-Z a-z 0-9 _ . -")
    return name


def shared_files() -> tuple[Path, Path]:
    """The AWS shared credentials and config files, as boto3 finds them."""
    credentials = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    config = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    return Path(credentials).expanduser(), Path(config).expanduser()


def _read(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep keys as written
    if path.exists():
        try:
            parser.read_string(path.read_text(), source=str(path))
        except configparser.Error as e:
            raise ValidationError(str(path), f"not an INI file this command can update: {e}") from None
    return parser


def _write(path: Path, parser: configparser.ConfigParser) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = io.StringIO()
    parser.write(text)
    write_atomic(path, text.getvalue())  # a file of its own, mode 0600, renamed into place
    os.chmod(path, 0o600)


def _replace_section(parser: configparser.ConfigParser, section: str, values: dict[str, str]) -> None:
    if parser.has_section(section):
        parser.remove_section(section)
    parser.add_section(section)
    for key, value in values.items():
        parser.set(section, key, value)


def services_section(name: str) -> str:
    return f"mlops-{name}"


def write_profile(access: AwsAccess, name: str, credentials_file: Path, config_file: Path) -> None:
    """``[NAME]`` in the credentials file, ``[profile NAME]`` (``[default]``) and its ``services`` section
    in the config file; every other section of both files is kept."""
    check_profile_name(name)
    credentials = _read(credentials_file)
    config = _read(config_file)
    _replace_section(
        credentials, name, {"aws_access_key_id": access.AccessKeyId, "aws_secret_access_key": access.SecretAccessKey}
    )
    services = services_section(name)
    profile = "default" if name == "default" else f"profile {name}"
    _replace_section(config, profile, {"region": access.Region, "services": services})
    nested = {service: f"\nendpoint_url = {access.EndpointUrl}" for service in SERVICES}
    _replace_section(config, f"services {services}", nested)
    _write(credentials_file, credentials)
    _write(config_file, config)
