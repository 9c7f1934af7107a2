"""Data and models that disagree on what the feature columns mean are refused, naming the first differing
feature (issue 13), on the commands of the README: train, evaluate, registry, models, endpoint configs,
monitor baseline and monitor schedule. Two datasets of the same churn table where one lacks the
'bank-transfer' payment method both encode fine, and differ from feature 9 on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops.cli import main
from mlops.core.datasets import DataFormat, DatasetSplit
from mlops.data.churn_sample import generate
from mlops.services.datasets import dataset_store
from mlops.settings import Settings

pytestmark = pytest.mark.integration

HP = ["--hp", "objective=binary:logistic", "--hp", "num_round=3", "--hp", "max_depth=2"]


@dataclass(frozen=True)
class Home:
    root: Path
    tables: dict[str, Path]
    splits: dict[str, DatasetSplit]

    def part(self, dataset: str, name: str) -> str:
        return self.splits[dataset].part(name).file(DataFormat.csv).Uri

    def version(self, dataset: str) -> str:
        return dataset_store(Settings(home=self.root)).resolve(dataset).ref


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    root = tmp_path_factory.mktemp("encodings")
    patch = pytest.MonkeyPatch()
    patch.setenv("MLOPS_HOME", str(root / "home"))
    frame = generate(1200, seed=4)
    tables = {"churn": root / "churn.csv", "churn-b": root / "churn-b.csv"}
    frame.to_csv(tables["churn"], index=False)
    frame[frame["payment_method"] != "bank-transfer"].to_csv(tables["churn-b"], index=False)
    for name, table in tables.items():
        assert main(["data", "ingest", name, "--source", str(table), "--label", "churn"]) == 0
        assert main(["data", "split", name, "--train", "0.7", "--validation", "0.15", "--test", "0.15"]) == 0
    store = dataset_store(Settings(home=root / "home"))
    splits = {name: store.splits(store.resolve(name))[0] for name in tables}
    made = Home(root / "home", tables, splits)
    for job, dataset in (("job-a", "churn"), ("job-b", "churn-b")):
        args = ["train", "--algorithm", "xgboost", "--train", made.part(dataset, "train"),
                "--validation", made.part(dataset, "validation"), *HP, "--job-name", job]  # fmt: skip
        assert main(args) == 0
    assert main(["models", "create", "churn-v1", "--job", "job-a"]) == 0
    assert main(["models", "create", "churn-v2", "--job", "job-b"]) == 0
    yield made
    patch.undo()


def _refused(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(args) == 2
    return " ".join(capsys.readouterr().err.split())


def test_the_job_model_and_registry_version_record_the_encoding(home: Home) -> None:
    from mlops.hosting.store import HostingStore
    from mlops.runtime.job_store import JobStore
    from mlops.services.registry import create_model_from_package, open_registry

    store = dataset_store(Settings(home=home.root))
    version = store.resolve("churn")
    job = JobStore(Settings(home=home.root).jobs_dir).load("job-a")
    assert job.FeatureEncoding == version.Encoding
    assert HostingStore(home.root).model("churn-v1").FeatureEncoding == version.Encoding
    assert home.splits["churn"].FeatureEncodingSha256 == version.Encoding.sha256
    settings = Settings(home=home.root)
    assert main(["registry", "register", "churn", "--job", "job-a"]) == 0
    registry = open_registry(settings)
    package = registry.describe_model_package("churn", 1)
    assert package.FeatureEncoding == version.Encoding
    assert package.Lineage.FeatureEncodingSha256 == version.Encoding.sha256
    assert main(["registry", "approve", "churn", "--version", "1", "--comment", "ok"]) == 0
    model = create_model_from_package(settings, registry, "churn-pkg", "churn", 1)
    assert model.FeatureEncoding == version.Encoding


def test_training_on_channels_encoded_differently_is_refused(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(["train", "--algorithm", "xgboost", "--train", home.part("churn", "train"),
                    "--validation", home.part("churn-b", "validation"), *HP], capsys)  # fmt: skip
    assert (
        f"channel validation: feature 9 is 'payment_method=credit-card' in channel validation (dataset "
        f"{home.version('churn-b')} split {home.splits['churn-b'].SplitId}) but 'payment_method=bank-transfer' "
        f"in channel train (dataset {home.version('churn')}"
    ) in err


def test_evaluate_on_data_encoded_differently_is_refused(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(["evaluate", "job-a", "--test", home.part("churn-b", "test")], capsys)
    assert "test: feature 9 is 'payment_method=credit-card' in dataset " in err
    assert "but 'payment_method=bank-transfer' in training job job-a's encoding" in err


def test_a_baseline_of_data_the_model_does_not_read_is_refused(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(
        ["monitor", "baseline", str(home.tables["churn-b"]), "--label", "churn", "--model", "churn-v1"], capsys
    )
    assert (
        f"--model: feature 9 is 'payment_method=credit-card' in the data ({home.tables['churn-b'].resolve()}) "
        "but 'payment_method=bank-transfer' in model churn-v1's encoding"
    ) in err


def test_a_schedule_whose_model_reads_other_columns_than_its_baseline_is_refused(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["monitor", "baseline", "churn", "--model", "job-a"]) == 0
    err = _refused(["monitor", "schedule", "churn-endpoint", "--baseline", "churn", "--model", "churn-v2",
                    "--monitors", "data-quality"], capsys)  # fmt: skip
    assert (
        "--baseline: feature 9 is 'payment_method=bank-transfer' in baseline churn's encoding "
        "but 'payment_method=credit-card' in training job job-b's encoding"
    ) in err


def test_an_endpoint_config_whose_variants_read_other_columns_is_refused(
    home: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refused(["endpoint-configs", "create", "mixed", "--variant", "name=blue,model=churn-v1",
                    "--variant", "name=green,model=churn-v2"], capsys)  # fmt: skip
    assert (
        "--variant green: feature 9 is 'payment_method=credit-card' in model churn-v2's encoding but "
        "'payment_method=bank-transfer' in model churn-v1's encoding (variant blue)"
    ) in err
    err = _refused(["endpoint-configs", "create", "mixed", "--variant", "name=blue,model=churn-v1",
                    "--shadow", "name=shadow,model=churn-v2"], capsys)  # fmt: skip
    assert "--shadow shadow: feature 9 is 'payment_method=credit-card' in model churn-v2's encoding" in err
    assert main(["endpoint-configs", "create", "same", "--variant", "name=blue,model=churn-v1"]) == 0


def test_a_window_of_an_endpoint_whose_model_reads_other_columns_than_its_baseline_is_refused(
    home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The endpoint's model is found from its config (no --model): the schedule is refused, and a run after
    the endpoint moved to such a model is refused before any window is read."""
    from mlops.core.clock import utcnow
    from mlops.core.hosting import Endpoint, EndpointStatus
    from mlops.hosting.store import HostingStore

    store = HostingStore(home.root)
    for config, model in (("cfg-v1", "churn-v1"), ("cfg-v2", "churn-v2")):
        assert main(["endpoint-configs", "create", config, "--variant", f"name=blue,model={model}"]) == 0

    def serve(config: str) -> None:
        now = utcnow()
        store.save_endpoint(Endpoint(EndpointName="churn-live", EndpointArn="arn:churn-live", EndpointConfigName=config,
                                     EndpointStatus=EndpointStatus.InService, CreationTime=now, LastModifiedTime=now))  # fmt: skip

    assert main(["monitor", "baseline", "churn", "--name", "churn-w", "--model", "job-a"]) == 0
    schedule = ["monitor", "schedule", "churn-live", "--baseline", "churn-w", "--monitors", "data-quality",
                "--capture", str(tmp_path / "capture")]  # fmt: skip
    serve("cfg-v2")
    err = _refused(schedule, capsys)
    assert (
        "--baseline: feature 9 is 'payment_method=bank-transfer' in baseline churn-w's encoding "
        "but 'payment_method=credit-card' in model churn-v2's encoding"
    ) in err
    serve("cfg-v1")
    assert main(schedule) == 0
    serve("cfg-v2")
    err = _refused(["monitor", "run", "churn-live", "--window", "1h", "--no-report"], capsys)
    assert "in model churn-v2's encoding" in err and "make the baseline of endpoint churn-live" in err
