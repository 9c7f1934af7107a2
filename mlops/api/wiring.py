"""The SageMaker API built from a home's settings: the home's key pair, and the operation table over
the local training runtime and the algorithm catalog. The CLI's `mlops router` passes the factory to the
control process, which builds the app once its Controller and HostingStore exist."""

from __future__ import annotations

from collections.abc import Callable

from mlops.api.app import SageMakerApi
from mlops.api.training import TrainingOperations
from mlops.hosting.controller import Controller
from mlops.hosting.credentials import ControlCredentials
from mlops.hosting.store import HostingStore
from mlops.services.catalog import algorithm_catalog
from mlops.services.runtimes import training_runtime
from mlops.settings import Settings


def sagemaker_api(settings: Settings) -> Callable[[Controller, HostingStore], SageMakerApi]:
    training = TrainingOperations(training_runtime(settings, "local"), algorithm_catalog(settings))

    def build(controller: Controller, store: HostingStore) -> SageMakerApi:
        operations = {**training.operations()}
        return SageMakerApi(ControlCredentials.for_home(settings.home), operations)

    return build
