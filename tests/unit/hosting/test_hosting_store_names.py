"""The hosting store turns names into files only through ``path_under``: a bad name or a link out of
HOME/hosting is refused before any file is read or written."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops.core.clock import utcnow
from mlops.core.errors import ValidationError
from mlops.core.hosting import ContainerDefinition, Model
from mlops.hosting.store import HostingStore


def _model(name: str) -> Model:
    container = ContainerDefinition(AlgorithmName="xgboost", ModelDataUrl="/m.tar.gz")
    return Model(ModelName=name, ModelArn=f"arn:{name}", PrimaryContainer=container, CreationTime=utcnow())


@pytest.mark.parametrize("name", ["../x", "../../x", "/etc/x", "x\n", ""])
def test_every_lookup_refuses_a_name_that_is_a_path(tmp_path: Path, name: str) -> None:
    store = HostingStore(tmp_path / "home")
    calls = (store.model, store.endpoint_config, store.endpoint, store.delete_model, store.delete_endpoint_config)
    for call in calls:
        with pytest.raises(ValidationError) as e:
            call(name)
        assert e.value.field in ("ModelName", "EndpointConfigName", "EndpointName")
    with pytest.raises(ValidationError):
        store.create_model(Model.model_construct(**{**_model("m").__dict__, "ModelName": name}))
    assert not any(tmp_path.rglob("*.json"))


def test_a_record_file_linked_out_of_the_store_is_refused(tmp_path: Path) -> None:
    store = HostingStore(tmp_path / "home")
    store.create_model(_model("good"))
    outside = tmp_path / "elsewhere.json"
    outside.write_text(_model("linked").model_dump_json())
    (store.root / "models" / "linked.json").symlink_to(outside)
    with pytest.raises(ValidationError, match="leads outside"):
        store.model("linked")
    assert store.model("good").ModelName == "good"


def test_a_planted_record_with_a_bad_name_is_refused_naming_the_field(tmp_path: Path) -> None:
    store = HostingStore(tmp_path / "home")
    bad = Model.model_construct(**{**_model("m").__dict__, "ModelName": "../x"})
    (store.root / "models").mkdir(parents=True)
    (store.root / "models" / "m.json").write_text(bad.model_dump_json())
    with pytest.raises(ValidationError) as e:
        store.model("m")
    assert e.value.field == "model 'm'" and e.value.message.startswith("ModelName: '../x' is not a valid name")
