"""Algorithm images on a real Docker engine: incremental builds, tags and labels, `mlops images list`,
bring-your-own-container jobs, images that do not follow the contract, and no engine at all."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.cli import main
from mlops.core.training import TrainingJobStatus
from mlops.data.churn_sample import DemoFiles
from mlops.runtime.docker_engine import BASE_IMAGE, LABEL_ALGORITHM, LABEL_DIGEST, LABEL_SERVER, LABEL_VERSION
from mlops.settings import Settings
from tests.conformance.conftest import (
    REPO,
    STUB,
    XGB,
    algorithms_folder,
    build_images,
    engine_or_skip,
    make_request,
    run_to_end,
    write_stub,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def engine() -> Any:
    client = engine_or_skip()
    yield client
    client.close()


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> AlgorithmCatalog:
    return AlgorithmCatalog(algorithms_folder(tmp_path_factory.mktemp("algorithms")))


@pytest.fixture(scope="module")
def images(engine: Any, catalog: AlgorithmCatalog, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    return build_images(catalog, tmp_path_factory.mktemp("builds"), ["xgboost", "byoc-example", STUB])


def _containers(engine: Any, label: str) -> list[str]:
    return [c.name for c in engine.containers.list(all=True, filters={"label": label})]


@pytest.mark.docker
def test_an_unchanged_algorithm_is_not_rebuilt(images: list[Any], catalog: AlgorithmCatalog, tmp_path: Path) -> None:
    started = time.monotonic()
    again = build_images(catalog, tmp_path, ["xgboost", "byoc-example"])
    assert [r.built for r in again] == [False, False]
    assert all(r.downloaded == 0 for r in again)
    assert time.monotonic() - started < 30
    assert [r.image for r in again] == [r.image for r in images[:2]]


@pytest.mark.docker
def test_images_carry_version_digest_tags_and_labels(engine: Any, images: list[Any], catalog: AlgorithmCatalog) -> None:
    for result in images:
        spec = catalog.get(result.algorithm)
        image = engine.images.get(result.image)
        assert result.image == f"mlops/{result.algorithm}:{spec.AlgorithmVersion}-{result.digest[:12]}"
        assert f"mlops/{result.algorithm}:latest" in image.tags
        assert image.labels[LABEL_ALGORITHM] == result.algorithm
        assert image.labels[LABEL_VERSION] == spec.AlgorithmVersion
        assert image.labels[LABEL_DIGEST] == result.digest


@pytest.mark.docker
def test_a_changed_algorithm_is_rebuilt_once(engine: Any, images: list[Any], tmp_path: Path) -> None:
    root = tmp_path / "algorithms"
    write_stub(root / STUB)
    catalog = AlgorithmCatalog(root)
    with (root / STUB / "train").open("a") as f:
        f.write(f"# changed at {time.time()}\n")
    first = build_images(catalog, tmp_path / "home", [STUB])[0]
    second = build_images(catalog, tmp_path / "home", [STUB])[0]
    try:
        assert first.built and not second.built
        assert first.digest != images[2].digest and second.digest == first.digest
        assert engine.images.get(f"mlops/{STUB}:latest").id == engine.images.get(first.image).id
    finally:  # put the suite's own stub image back as :latest (a no-op build retags it)
        build_images(AlgorithmCatalog(algorithms_folder(tmp_path / "back")), tmp_path / "home", [STUB])
        engine.images.remove(first.image)


@pytest.mark.docker
def test_images_list_prints_name_tag_digest_size_created(images: list[Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["images", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["NAME", "TAG", "DIGEST"] and "SIZE" in out and "CREATED" in out
    xgb = next(r for r in images if r.algorithm == "xgboost")
    line = next(line for line in out.splitlines() if line.startswith("mlops/xgboost ") and " latest " in line)
    assert xgb.digest[:12] in line and "MB" in line


@pytest.mark.docker
def test_bring_your_own_container_through_the_cli(
    images: list[Any],
    churn: DemoFiles,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "home"))
    code = main(
        [
            "train", "--runtime", "docker", "--image", "mlops/byoc-example:latest", "--algorithm", "byoc-example",
            "--train", str(churn.train), "--validation", str(churn.validation), "--job-name", "byoc",
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "validation:auc=" in out and "sha256:" in out
    assert (tmp_path / "home" / "artifacts" / "byoc" / "output" / "model.tar.gz").is_file()


@pytest.mark.docker
def test_any_image_without_a_catalog_spec(images: list[Any], churn: DemoFiles, tmp_path: Path) -> None:
    """An image alone (no algorithm spec): no MetricDefinitions, so no metrics, but a model."""
    from mlops.runtime.docker import DockerRuntime

    settings = Settings(home=tmp_path / "home")
    runtime = DockerRuntime(settings.jobs_dir, AlgorithmCatalog(tmp_path / "none"), 5)
    request = make_request(
        "byo-image",
        {"train": str(churn.train)},
        {},
        settings.artifacts,
        algorithm=None,
        image="mlops/byoc-example:latest",
    )
    job = run_to_end(runtime, request)
    assert job.TrainingJobStatus is TrainingJobStatus.Completed, job.FailureReason
    assert job.FinalMetricDataList == () and job.ModelArtifacts is not None
    assert "#metric train:logloss=" in runtime.log_path("byo-image").read_text()


@pytest.mark.docker
def test_an_image_without_train_fails_clearly_and_leaves_nothing(
    engine: Any, images: list[Any], churn: DemoFiles, tmp_path: Path
) -> None:
    from mlops.runtime.docker import DockerRuntime

    settings = Settings(home=tmp_path / "home")
    runtime = DockerRuntime(settings.jobs_dir, AlgorithmCatalog(tmp_path / "none"), 5)
    request = make_request(
        "no-train", {"train": str(churn.train)}, {}, settings.artifacts, algorithm=None, image=BASE_IMAGE
    )
    job = run_to_end(runtime, request)
    assert job.TrainingJobStatus is TrainingJobStatus.Failed
    reason = job.FailureReason or ""
    assert BASE_IMAGE in reason and "`train`" in reason and "contract" in reason, reason
    assert job.ModelArtifacts is None
    assert _containers(engine, "mlops.training-job=no-train") == []


@pytest.fixture(scope="module")
def xgb_model(catalog: AlgorithmCatalog, churn: DemoFiles, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from mlops.runtime.local_process import LocalProcessRuntime

    home = tmp_path_factory.mktemp("model")
    trainer = LocalProcessRuntime(home / "jobs", catalog, 5)
    job = run_to_end(trainer, make_request("m", {"train": str(churn.train)}, XGB, str(home / "artifacts")))
    assert job.ModelArtifacts is not None, job.FailureReason
    return job


@pytest.mark.docker
def test_an_image_that_cannot_serve_fails_clearly_and_leaves_nothing(
    engine: Any, images: list[Any], catalog: AlgorithmCatalog, xgb_model: Any, tmp_path: Path
) -> None:
    from mlops.runtime.docker_server import DockerModelServerRuntime
    from mlops.runtime.health import ServerStartError

    job = xgb_model
    servers = DockerModelServerRuntime(tmp_path / "servers", catalog, startup_timeout=6)
    before = set(_containers(engine, LABEL_SERVER))
    with pytest.raises(ServerStartError) as no_serve:  # no `serve` at all
        servers.start_server(BASE_IMAGE, job.ModelArtifacts.S3ModelArtifacts, job.ModelArtifactSha256)
    assert BASE_IMAGE in str(no_serve.value) and "GET /ping" in str(no_serve.value)
    started = time.monotonic()
    with pytest.raises(ServerStartError) as silent:  # `serve` runs but never answers /ping
        servers.start_server(STUB, job.ModelArtifacts.S3ModelArtifacts, job.ModelArtifactSha256)
    assert "did not answer GET /ping with 200 within 6 s" in str(silent.value)
    assert "serving nothing" in str(silent.value) and time.monotonic() - started < 30
    assert set(_containers(engine, LABEL_SERVER)) == before
    assert not list((tmp_path / "servers").rglob("xgboost-model"))


def test_no_engine_gives_one_clear_message(tmp_path: Path, churn: DemoFiles) -> None:
    env = {
        "DOCKER_HOST": f"unix://{tmp_path}/closed.sock",
        "MLOPS_HOME": str(tmp_path / "home"),
        "PATH": "/usr/bin:/bin",
    }
    for argv in (
        ["images", "list"],
        ["images", "build", "xgboost"],
        ["train", "--runtime", "docker", "--algorithm", "xgboost", "--train", str(churn.train), "--hp", "num_round=2"],
    ):
        done = subprocess.run(
            [sys.executable, "-c", "import sys; from mlops.cli import main; sys.exit(main())", *argv],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=120,
        )
        assert done.returncode == 2, (argv, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert done.stderr.strip().startswith(f"error: no Docker engine answers at unix://{tmp_path}/closed.sock")
        assert "infra/docker/ensure-engine.sh" in done.stderr and "make engine" in done.stderr
    assert not (tmp_path / "home" / "jobs").exists() or not any((tmp_path / "home" / "jobs").iterdir())


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_docker_compose_file_is_valid() -> None:
    done = subprocess.run(
        ["docker-compose", "-f", str(REPO / "docker-compose.yml"), "config", "-q"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.docker
@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_docker_compose_serves_an_unpacked_model(
    engine: Any, images: list[Any], xgb_model: Any, churn: DemoFiles, tmp_path: Path
) -> None:
    import tarfile
    import urllib.request

    from mlops.runtime.health import free_port, ping

    model_dir = tmp_path / "model"
    with tarfile.open(xgb_model.ModelArtifacts.S3ModelArtifacts) as tar:
        tar.extractall(model_dir, filter="data")
    port = free_port()
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "MLOPS_XGBOOST_MODEL_DIR": str(model_dir),
        "MLOPS_XGBOOST_PORT": str(port),
    }
    compose = ["docker-compose", "-f", str(REPO / "docker-compose.yml"), "-p", f"mlopstest{port}"]
    up = subprocess.run([*compose, "up", "-d", "xgboost-server"], capture_output=True, text=True, env=env, timeout=120)
    try:
        assert up.returncode == 0, up.stderr
        deadline = time.monotonic() + 60
        while not ping(f"http://127.0.0.1:{port}"):
            assert time.monotonic() < deadline, "the compose service never answered /ping"
            time.sleep(0.3)
        rows = "\n".join(line.split(",", 1)[1] for line in churn.test.read_text().splitlines()[:5])
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", data=rows.encode(), headers={"Content-Type": "text/csv"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert len(response.read().decode().split()) == 5
    finally:
        down = subprocess.run([*compose, "down"], capture_output=True, text=True, env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    assert _containers(engine, f"com.docker.compose.project=mlopstest{port}") == []


# -- the wheelhouse, without an engine ----------------------------------------------------------------

LOCK_TEXT = """# a lock as uv writes it
numpy==2.4.6
    # via
    #   pandas
    #   xgboost
nvidia-nccl-cu12==2.30.4
    # via xgboost
pandas==2.3.3
    # via -r requirements.in
pyarrow==24.0.0
    # via pandas
xgboost==3.2.0
    # via -r requirements.in
"""


def test_the_lock_gives_pins_and_the_via_closure_without_cuda(tmp_path: Path) -> None:
    from mlops.images.wheelhouse import Lock, Pin

    (tmp_path / "requirements.lock").write_text(LOCK_TEXT)
    lock = Lock.read(tmp_path / "requirements.lock")
    assert lock.pins["xgboost"] == "3.2.0" and lock.dependents["numpy"] == frozenset({"pandas", "xgboost"})
    assert lock.closure(["xgboost"]) == [Pin("numpy", "2.4.6"), Pin("xgboost", "3.2.0")]
    assert [str(p) for p in lock.closure(["Pandas"])] == ["numpy==2.4.6", "pandas==2.3.3", "pyarrow==24.0.0"]


def test_requirements_name_packages_and_versions_come_from_the_lock(tmp_path: Path) -> None:
    from mlops.core.errors import ValidationError
    from mlops.images.wheelhouse import Lock, WheelhouseError, read_requirements

    (tmp_path / "requirements.lock").write_text(LOCK_TEXT)
    lock = Lock.read(tmp_path / "requirements.lock")
    req = tmp_path / "requirements.txt"
    req.write_text("# comment\nnumpy\npandas>=2  # agrees with the lock\n")
    assert [r.name for r in read_requirements(req, lock)] == ["numpy", "pandas"]
    req.write_text("numpy==1.26.4\n")
    with pytest.raises(ValidationError, match=r"line 1: 'numpy==1.26.4' disagrees with requirements.lock"):
        read_requirements(req, lock)
    req.write_text("scikit-learn\n")
    with pytest.raises(WheelhouseError, match="scikit-learn .* is not pinned in requirements.lock"):
        read_requirements(req, lock)


def test_cached_wheels_are_found_for_the_image_platform_only(tmp_path: Path) -> None:
    from mlops.images.wheelhouse import Lock, Pin, Wheelhouse

    (tmp_path / "requirements.lock").write_text(LOCK_TEXT)
    house = Wheelhouse(tmp_path / "wheels", Lock.read(tmp_path / "requirements.lock"), log=lambda _: None)
    (tmp_path / "wheels").mkdir()
    for name in (
        "numpy-2.4.6-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",  # another Python
        "numpy-2.4.6-cp311-cp311-macosx_11_0_arm64.whl",  # another platform
        "numpy-2.4.6-cp311-cp311-manylinux_2_39_x86_64.whl",  # needs a newer glibc than bookworm's
        "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
    ):
        (tmp_path / "wheels" / name).write_bytes(b"")
    assert house.find(Pin("numpy", "2.4.6")) is None
    good = tmp_path / "wheels" / "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"
    good.write_bytes(b"")
    assert house.find(Pin("numpy", "2.4.6")) == good
    assert house.find(Pin("torch", "2.13.0+cpu")) is not None and house.find(Pin("torch", "2.13.0")) is None
