"""`mlops credentials`: point boto3 and the SageMaker SDK at this home's control API."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from mlops.cli.arguments import add_command

if TYPE_CHECKING:
    from mlops.settings import Settings

EXAMPLES = """examples:
  eval "$(mlops credentials --shell)"      # this shell's boto3 / SageMaker SDK calls go to the platform
  python -c "import boto3; print(boto3.client('sagemaker').meta.endpoint_url)"
  mlops credentials --profile mlops        # or a named profile, for AWS_PROFILE=mlops / profile_name="mlops"
  AWS_PROFILE=mlops python train.py

The key pair is the home's own (HOME/credentials, mode 0600; created on first use). --profile writes
[NAME] to the shared credentials file ($AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials) and
[profile NAME] with its region and a `services` section naming the router as the sagemaker and
sagemaker_runtime endpoint_url to the config file ($AWS_CONFIG_FILE, default ~/.aws/config); both files
are rewritten whole (mode 0600) with every other profile kept (comments are not kept).
"""


def add_credentials_parser(sub: Any) -> None:
    p = add_command(
        sub,
        "credentials",
        help="the key pair, region and endpoints boto3 and the SageMaker SDK use to reach this platform",
        description="Show how AWS clients reach this home's SageMaker API: the control API's key pair, the "
        "region (MLOPS_REGION) and the router (MLOPS_ROUTER_HOST / MLOPS_ROUTER_PORT) as the SageMaker and "
        "SageMaker Runtime endpoint URL. Unchanged boto3 / SageMaker SDK code then runs against the platform.",
        examples=EXAMPLES,
    )
    how = p.add_mutually_exclusive_group()
    how.add_argument("--shell", action="store_true", help="print quoted `export` lines, for eval")
    how.add_argument("--profile", metavar="NAME", help="write an AWS profile NAME instead (A-Z a-z 0-9 _ . -)")
    p.set_defaults(func=cmd_credentials)


def cmd_credentials(args: argparse.Namespace, settings: Settings) -> int:
    from mlops.services.aws_access import aws_access, check_profile_name, shared_files, write_profile

    if args.profile is not None:
        name = check_profile_name(args.profile)  # before the home's key pair is created or read
        access = aws_access(settings)
        credentials_file, config_file = shared_files()
        write_profile(access, name, credentials_file, config_file)
        print(f"wrote profile {name!r}: [{name}] in {credentials_file}, its region and endpoints in {config_file}")
        print(f"use it with AWS_PROFILE={name} or boto3.Session(profile_name={name!r})")
        return 0
    access = aws_access(settings)
    if args.shell:
        print(access.shell_exports(), end="")
        return 0
    print("boto3 and the SageMaker SDK reach this platform with these variables:\n")
    for key, value in access.environment().items():
        shown = "(in " + str(settings.paths.credentials) + ")" if key == "AWS_SECRET_ACCESS_KEY" else value
        print(f"  {key}={shown}")
    print('\nset them in this shell:  eval "$(mlops credentials --shell)"')
    print("or write a profile:      mlops credentials --profile NAME   (then AWS_PROFILE=NAME)")
    return 0
