"""The caller's side of the Docker runtime: training jobs as containers of an algorithm's image or of any
image that follows the SageMaker contract. Resolving the image happens here, when the job is created; the
job's supervisor starts and watches the container through docker_container.py (the executor of the
"docker" row in table.py). The model-server half lives in docker_server.py; connecting and naming images
in docker_engine.py.
"""

from __future__ import annotations

from pathlib import Path

from mlops.algorithms.catalog import AlgorithmCatalog
from mlops.core.training import TrainingJob, TrainingJobRequest, TrainingJobStatus
from mlops.runtime.docker_container import remove_job_containers
from mlops.runtime.docker_engine import connect, image_for
from mlops.runtime.launch import ContainerImage
from mlops.runtime.supervised import SupervisedRuntime


class DockerRuntime(SupervisedRuntime):
    """Training jobs as containers of an algorithm's image (``mlops/<algorithm>:latest``) or of any
    image that follows the contract (``AlgorithmSpecification.TrainingImage``)."""

    name = "docker"

    def __init__(self, jobs_dir: Path, catalog: AlgorithmCatalog, stop_grace_seconds: float = 120.0) -> None:
        super().__init__(jobs_dir, stop_grace_seconds)
        self.catalog = catalog

    def launch_info(self, request: TrainingJobRequest) -> ContainerImage:
        spec = request.AlgorithmSpecification
        client = connect()
        try:
            reference, image_id = image_for(client, spec.AlgorithmName, spec.TrainingImage)
        finally:
            client.close()
        return ContainerImage(image=reference, image_id=image_id)

    def describe_training_job(self, name: str) -> TrainingJob:
        job = super().describe_training_job(name)
        if (
            job.TrainingJobStatus is TrainingJobStatus.Failed
            and job.FailureReason
            and "supervisor process died" in job.FailureReason
        ):
            self._remove_orphans(name)
        return job

    def _remove_orphans(self, name: str) -> None:
        from mlops.core.errors import RuntimeUnavailableError

        try:
            client = connect(timeout=10)
        except RuntimeUnavailableError:
            return
        try:
            remove_job_containers(client, name, self.jobs.folder(name))
        finally:
            client.close()
