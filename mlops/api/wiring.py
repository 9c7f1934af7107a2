"""The SageMaker API built from a home's settings: the home's key pair, and the operation table over
the local training runtime and the algorithm catalog. The CLI's `mlops router` mounts it."""

from __future__ import annotations

from mlops.api.app import SageMakerApi
from mlops.api.training import TrainingOperations
from mlops.api.tuning import TuningOperations
from mlops.hosting.credentials import ControlCredentials
from mlops.services.catalog import algorithm_catalog
from mlops.services.runtimes import training_runtime
from mlops.settings import Settings


def sagemaker_api(settings: Settings) -> SageMakerApi:
    operations = TrainingOperations(training_runtime(settings, "local"), algorithm_catalog(settings))
    tuning = TuningOperations.from_settings(settings, operations).operations()
    return SageMakerApi(ControlCredentials.for_home(settings.home), operations.operations() | tuning)
