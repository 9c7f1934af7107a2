"""TrainingImage strings -> the local algorithm: SageMaker's built-in image URIs (as the installed SDK makes
them) and local image names; everything else refused, naming TrainingImage."""

from __future__ import annotations

import json
import logging
from importlib.util import find_spec
from pathlib import Path

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.algorithms.image_uris import resolve_training_image
from mlops.algorithms.sagemaker_accounts import ACCOUNTS, ecr_domain
from mlops.core.errors import ValidationError

ROOT = Path(__file__).resolve().parents[3]
CATALOG = AlgorithmCatalog(ROOT / "algorithms")


def _sdk_config() -> Path:
    spec = find_spec("sagemaker")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "core" / "image_uri_config"


def _declared() -> set[str]:
    return {r for name in CATALOG.names() for r in CATALOG.get(name).SageMakerImageRepositories}


def _registries(node: object, repositories: set[str], into: dict[str, set[str]]) -> None:
    if isinstance(node, dict):
        if node.get("repository") in repositories and isinstance(node.get("registries"), dict):
            for region, account in node["registries"].items():
                into.setdefault(region, set()).add(account)
        for value in node.values():
            _registries(value, repositories, into)
    elif isinstance(node, list):
        for value in node:
            _registries(value, repositories, into)


def test_the_account_table_is_the_installed_sdks() -> None:
    found: dict[str, set[str]] = {}
    for path in sorted(_sdk_config().glob("*.json")):
        _registries(json.loads(path.read_text()), _declared(), found)
    assert {region: frozenset(accounts) for region, accounts in found.items()} == ACCOUNTS


def test_the_algorithms_declare_their_repositories() -> None:
    assert CATALOG.get("xgboost").SageMakerImageRepositories == ("sagemaker-xgboost",)
    assert CATALOG.get("linear-learner").SageMakerImageRepositories == ("linear-learner",)


@pytest.fixture(scope="module")
def retrieve():  # type: ignore[no-untyped-def]
    from sagemaker.core import image_uris

    logging.getLogger("sagemaker").setLevel(logging.ERROR)
    return image_uris.retrieve


@pytest.mark.parametrize("region", sorted(ACCOUNTS))
def test_every_sdk_uri_resolves(retrieve, region: str) -> None:  # type: ignore[no-untyped-def]
    xgboost = retrieve("xgboost", region, "1.7-1")
    assert ecr_domain(region) in xgboost
    assert resolve_training_image(xgboost, CATALOG) == "xgboost"
    assert resolve_training_image(retrieve("linear-learner", region), CATALOG) == "linear-learner"


def test_known_uris_and_local_names() -> None:
    assert (
        resolve_training_image("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", CATALOG)
        == "xgboost"
    )
    assert (
        resolve_training_image("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost", CATALOG) == "xgboost"
    )
    assert resolve_training_image("mlops/xgboost:latest", CATALOG) == "xgboost"
    assert resolve_training_image("mlops/linear-learner:1.0-abc123", CATALOG) == "linear-learner"
    assert resolve_training_image("mlops/byoc-example", CATALOG) == "byoc-example"


US_EAST = "683313688378.dkr.ecr.us-east-1.amazonaws.com"


@pytest.mark.parametrize(
    "image",
    [
        "",
        f"{US_EAST}/../xgboost:1.7-1",
        f"{US_EAST}/sagemaker-xgboost/../x:1",
        "mlops/../xgboost:latest",
        "mlops/xgboost/..:latest",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",  # not SageMaker's account
        "683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1",  # its account, another region
        "683313688378.dkr.ecr.us-east-1.evil.example/sagemaker-xgboost:1.7-1",
        "683313688378.dkr.ecr.us-east-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1",
        f"{US_EAST}/sagemaker-xgboost@sha256:" + "a" * 64,
        f"{US_EAST}/sagemaker-xgboost:1.7-1@sha256:" + "a" * 64,
        f"{US_EAST}/sagemaker-pytorch:2.0",  # SageMaker's, but no algorithm here stands for it
        f"{US_EAST}/sagemaker-xgboost:1.7-1\n",
        f"{US_EAST}/sagemaker-xgboost:-bad",
        f"{US_EAST}/sagemaker-xgboost:" + "1" * 129,
        f"{US_EAST}/" + "a" * 300,
        "mlops/" + "x" * 300,
        "mlops/nosuch:latest",
        "docker.io/library/python:3.11",
        "xgboost",
        "/etc/passwd",
        "683313688378.dkr.ecr.mars-east-1.amazonaws.com/sagemaker-xgboost:1",
    ],
)
def test_anything_else_is_refused_naming_the_field(image: str) -> None:
    with pytest.raises(ValidationError) as e:
        resolve_training_image(image, CATALOG)
    assert e.value.field == "TrainingImage"
    if len(image) <= 255 and image:
        assert "accepted" in e.value.message or "SageMaker's" in e.value.message or "region" in e.value.message


def test_the_refusal_lists_what_is_accepted() -> None:
    with pytest.raises(ValidationError) as e:
        resolve_training_image("docker.io/library/python:3.11", CATALOG)
    assert "mlops/xgboost[:TAG]" in e.value.message
    assert "sagemaker-xgboost" in e.value.message and "linear-learner" in e.value.message


def test_a_declared_repository_must_look_like_one(tmp_path: Path) -> None:
    folder = tmp_path / "xgboost"
    folder.mkdir()
    spec = json.loads((ROOT / "algorithms" / "xgboost" / "algorithm.json").read_text())
    spec["SageMakerImageRepositories"] = ["../etc"]
    (folder / "algorithm.json").write_text(json.dumps(spec))
    with pytest.raises(ValidationError) as e:
        AlgorithmCatalog(tmp_path).get("xgboost")
    assert "SageMakerImageRepositories" in str(e.value)
