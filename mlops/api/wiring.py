"""The SageMaker API built from a home's settings: the home's key pair, and the operation table over
the local training runtime and the algorithm catalog, and over the control process's hosting Controller
and HostingStore. The CLI's `mlops router` passes the factory to the control process, which builds the
app once its Controller exists."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from mlops.api.app import SageMakerApi
from mlops.api.hosting import HostingOperations
from mlops.api.training import TrainingOperations
from mlops.api.tuning import TuningOperations
from mlops.deploy.alarms import load_alarms
from mlops.hosting.controller import Controller
from mlops.hosting.credentials import ControlCredentials
from mlops.hosting.store import HostingStore
from mlops.services.catalog import algorithm_catalog
from mlops.services.hosting import Hosting, default_alarms_file
from mlops.services.runtimes import training_runtime
from mlops.settings import Settings
from mlops.store.interface import open_store


def sagemaker_api(settings: Settings) -> Callable[[Controller, HostingStore], SageMakerApi]:
    training = TrainingOperations(training_runtime(settings, "local"), algorithm_catalog(settings))
    tuning = TuningOperations.from_settings(settings, training).operations()

    def build(controller: Controller, store: HostingStore) -> SageMakerApi:
        hosting = HostingOperations(
            Hosting(
                store, training.catalog, training.runtime, partial(open_store, s3_endpoint_url=settings.s3_endpoint_url)
            ),
            controller,
            lambda: load_alarms(default_alarms_file()),
        )
        operations = {**training.operations(), **tuning, **hosting.operations()}
        return SageMakerApi(ControlCredentials.for_home(settings.home), operations)

    return build
