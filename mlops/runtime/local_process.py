"""The local process runtime: the algorithm's own ``train`` entry point runs as a subprocess with the
contract root relocated to the job's folder (``MLOPS_CONTRACT_ROOT``).

Network isolation cannot be enforced for a plain process; Cpus sets OMP_NUM_THREADS and MemoryMiB
an address-space limit. The Docker runtime enforces all three.
"""

from __future__ import annotations

from pathlib import Path

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.errors import ValidationError
from mlops.core.training import TrainingJobRequest
from mlops.runtime.launch import AlgorithmFolder
from mlops.runtime.supervised import SupervisedRuntime


class LocalProcessRuntime(SupervisedRuntime):
    name = "local"

    def __init__(self, jobs_dir: Path, catalog: AlgorithmCatalog, stop_grace_seconds: float = 120.0) -> None:
        super().__init__(jobs_dir, stop_grace_seconds)
        self.catalog = catalog

    def complete_request(self, request: TrainingJobRequest) -> TrainingJobRequest:
        """As SageMaker does for an AlgorithmName: the algorithm's own MetricDefinitions apply by default."""
        algo = request.AlgorithmSpecification
        if algo.AlgorithmName and not algo.MetricDefinitions:
            definitions = self.catalog.get(algo.AlgorithmName).TrainingSpecification.MetricDefinitions
            algo = algo.model_copy(update={"MetricDefinitions": definitions})
            request = request.model_copy(update={"AlgorithmSpecification": algo})
        return request

    def launch_info(self, request: TrainingJobRequest) -> AlgorithmFolder:
        algorithm = request.AlgorithmSpecification.AlgorithmName
        if not algorithm:
            raise ValidationError(
                "AlgorithmSpecification.AlgorithmName",
                "the local process runtime runs an algorithm folder by name; use the docker runtime for an image",
            )
        return AlgorithmFolder(algorithm_folder=str(self.catalog.folder(algorithm).resolve()))
