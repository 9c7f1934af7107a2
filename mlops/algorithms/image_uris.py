"""A TrainingImage, as SageMaker's API and SDK name it, resolved to the local algorithm that runs it.

Two forms are accepted:

- the local image names ``mlops/<AlgorithmName>`` with an optional ``:TAG`` (what ``mlops images build``
  makes, e.g. ``mlops/xgboost:latest``);
- SageMaker's built-in image URIs, as ``sagemaker.image_uris.retrieve("xgboost", region, "1.7-1")``
  returns them: ``<account>.dkr.ecr.<region>.<domain>/<repository>[:TAG]``, where the account is one of
  SageMaker's for that region (``sagemaker_accounts.py``) and the repository is one an algorithm declares in
  its ``algorithm.json`` (``SageMakerImageRepositories``).

Anything else (another registry or account, a digest ``@sha256:…``, an unknown repository, a tag Docker
would refuse, more than 255 characters) is a ValidationError naming ``TrainingImage`` and saying what is
accepted. The string is matched whole by anchored patterns before any part of it is used, so a ``..``, a
``/`` or a newline in it never reaches the catalog.
"""

from __future__ import annotations

import re

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.algorithms.sagemaker_accounts import ACCOUNTS, ecr_domain
from mlops.core.errors import ValidationError
from mlops.core.ids import check_name

FIELD = "TrainingImage"
MAX_LENGTH = 255  # SageMaker's limit for AlgorithmSpecification.TrainingImage
LOCAL_PREFIX = "mlops/"  # the repository prefix of the images `mlops images build` makes
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"  # Docker's tag rule
_COMPONENT = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
_LOCAL = re.compile(rf"mlops/(?P<name>[A-Za-z0-9](?:-*[A-Za-z0-9])*)(?::(?P<tag>{_TAG}))?")
_ECR = re.compile(
    rf"(?P<account>[0-9]{{12}})\.dkr\.ecr\.(?P<region>[a-z]{{2}}(?:-[a-z]+)+-[0-9])\."
    rf"(?P<domain>[a-z0-9.]+)/(?P<repository>{_COMPONENT}(?:/{_COMPONENT})*)(?::(?P<tag>{_TAG}))?"
)


def _accepted(catalog: AlgorithmCatalog) -> str:
    local = ", ".join(f"{LOCAL_PREFIX}{name}[:TAG]" for name in catalog.names()) or "none"
    repositories = ", ".join(sorted(_repositories(catalog))) or "none"
    return (
        f"accepted: a local algorithm image ({local}) or a SageMaker built-in image "
        f"ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY[:TAG] in SageMaker's account for REGION, "
        f"with REPOSITORY one of {repositories}"
    )


def _repositories(catalog: AlgorithmCatalog) -> dict[str, str]:
    """Repository -> the AlgorithmName that declares it."""
    declared: dict[str, str] = {}
    for name in catalog.names():
        for repository in catalog.get(name).SageMakerImageRepositories:
            declared.setdefault(repository, name)
    return declared


def resolve_training_image(image: str, catalog: AlgorithmCatalog) -> str:
    """The AlgorithmName whose folder runs ``image``."""
    if not isinstance(image, str) or not image:
        raise ValidationError(FIELD, "is empty; " + _accepted(catalog))
    if len(image) > MAX_LENGTH:
        raise ValidationError(FIELD, f"is {len(image)} characters, more than {MAX_LENGTH}")
    shown = repr(image)
    if "@" in image:
        raise ValidationError(
            FIELD, f"{shown}: images named by digest are not accepted, name a tag; " + _accepted(catalog)
        )
    local = _LOCAL.fullmatch(image)
    if local is not None:
        name = check_name(FIELD, local["name"])
        if name not in catalog.names():
            raise ValidationError(FIELD, f"{shown}: no local algorithm {name!r}; " + _accepted(catalog))
        return name
    ecr = _ECR.fullmatch(image)
    if ecr is None:
        raise ValidationError(FIELD, f"{shown} is not an image this platform runs; " + _accepted(catalog))
    region = ecr["region"]
    if region not in ACCOUNTS:
        raise ValidationError(FIELD, f"{shown}: {region!r} is not a region SageMaker has built-in images in")
    if ecr["domain"] != ecr_domain(region) or ecr["account"] not in ACCOUNTS[region]:
        raise ValidationError(
            FIELD,
            f"{shown}: {ecr['account']}.dkr.ecr.{region}.{ecr['domain']} is not SageMaker's registry for {region} "
            f"(its accounts there: {', '.join(sorted(ACCOUNTS[region]))}, domain {ecr_domain(region)})",
        )
    declared = _repositories(catalog)
    if ecr["repository"] not in declared:
        raise ValidationError(
            FIELD, f"{shown}: no local algorithm stands for repository {ecr['repository']!r}; " + _accepted(catalog)
        )
    return declared[ecr["repository"]]
