"""The hosting use cases wired from settings: the one place that turns a home's settings into the
hosting store, catalog, training jobs and object stores the use cases of ``services/hosting.py`` take, into
the router's address and credentials for ``services/control_client.py``, and into the control process's
options. The CLI and Airflow call these."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from mlops.core.hosting import (
    DataCaptureConfig,
    Endpoint,
)
from mlops.hosting.credentials import ControlCredentials
from mlops.hosting.store import HostingStore
from mlops.services import control_client, hosting
from mlops.services.catalog import algorithm_catalog
from mlops.services.hosting import Hosting
from mlops.settings import Settings
from mlops.store.interface import open_store

if TYPE_CHECKING:
    from mlops.hosting.process import SageMakerApiFactory

P = ParamSpec("P")
R = TypeVar("R")


def hosting_from_settings(settings: Settings) -> Hosting:
    from mlops.services.runtimes import training_runtime

    return Hosting(
        store=HostingStore(settings.home),
        catalog=algorithm_catalog(settings),
        training_jobs=training_runtime(settings, "local"),
        object_store=partial(open_store, s3_endpoint_url=settings.s3_endpoint_url),
    )


def router_address(settings: Settings) -> str:
    return f"{settings.router_host}:{settings.router_port}"


def control_client_for(settings: Settings, timeout: float = 150.0) -> control_client.HostingClient:
    """The control API of this home's router (the default timeout is long: a delete drains the requests
    in flight)."""
    return control_client.HostingClient(
        f"http://{router_address(settings)}", ControlCredentials.for_home(settings.home), timeout
    )


# --- the use cases, called with settings -------------------------------------------------------------


def _with_hosting(use_case: Callable[Concatenate[Hosting, P], R]) -> Callable[Concatenate[Settings, P], R]:
    def run(settings: Settings, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return use_case(hosting_from_settings(settings), *args, **kwargs)

    run.__doc__ = use_case.__doc__
    return run


def _with_store(use_case: Callable[Concatenate[HostingStore, P], R]) -> Callable[Concatenate[Settings, P], R]:
    def run(settings: Settings, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return use_case(HostingStore(settings.home), *args, **kwargs)

    run.__doc__ = use_case.__doc__
    return run


def _with_router(use_case: Callable[Concatenate[str, P], R]) -> Callable[Concatenate[Settings, P], R]:
    def run(settings: Settings, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return use_case(router_address(settings), *args, **kwargs)

    run.__doc__ = use_case.__doc__
    return run


create_model = _with_hosting(hosting.create_model)
create_model_from_job = _with_hosting(hosting.create_model_from_job)
delete_model = _with_store(hosting.delete_model)
create_endpoint_config = _with_store(hosting.create_endpoint_config)
delete_endpoint_config = _with_store(hosting.delete_endpoint_config)
invoke = _with_router(control_client.invoke_endpoint)


def endpoint_from_store(settings: Settings, name: str) -> Endpoint:
    """The last recorded state, for when no control process runs."""
    return HostingStore(settings.home).endpoint(name)


def endpoints_from_store(settings: Settings) -> list[Endpoint]:
    return HostingStore(settings.home).endpoints()


def default_capture(settings: Settings) -> DataCaptureConfig:
    """Capture of every request and response to HOME/capture."""
    return hosting.capture_config(str(settings.paths.capture))


# --- the control process ----------------------------------------------------------------------------


def run_router(
    settings: Settings,
    runtime: str = "local",
    workers: int = 1,
    model_timeout: float = 60.0,
    health_interval: float = 1.0,
    ping_timeout: float = 2.0,
    log: Callable[[str], None] = print,
    sagemaker_api: SageMakerApiFactory | None = None,
) -> int:
    """``sagemaker_api`` builds SageMaker's API on the control process's controller and store."""
    from mlops.hosting.http_limits import HttpLimits
    from mlops.hosting.process import ControlOptions, run_control_process
    from mlops.services.runtimes import server_runtime

    options = ControlOptions(
        host=settings.router_host,
        port=settings.router_port,
        model_timeout=model_timeout,
        health_interval=health_interval,
        ping_timeout=ping_timeout,
        capture_queue_bytes=settings.capture_queue_bytes,
        s3_endpoint_url=settings.s3_endpoint_url,
        allowed_hosts=tuple(h.strip() for h in settings.router_allowed_hosts.split(",") if h.strip()),
        limits=HttpLimits(
            header_timeout=settings.router_header_timeout_seconds,
            body_timeout=settings.router_body_timeout_seconds,
            keep_alive_timeout=settings.router_keep_alive_seconds,
            max_header_bytes=settings.router_max_header_bytes,
            max_connections=settings.router_max_connections,
        ),
        max_concurrency=settings.router_max_concurrency,
        max_response_bytes=settings.router_max_response_bytes,
    )
    return run_control_process(settings.home, server_runtime(settings, runtime, workers), options, log, sagemaker_api)
