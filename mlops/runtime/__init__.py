"""Training runtimes (CreateTrainingJob / DescribeTrainingJob / StopTrainingJob shaped) and model
server runtimes. Implementations are listed in one table, name -> implementation (table.py): local
process (local_process.py, local_server.py) and Docker (docker.py, docker_container.py, docker_server.py)."""

from mlops.runtime.interface import ModelServer, ModelServerRuntime, TrainingRuntime

__all__ = ["ModelServer", "ModelServerRuntime", "TrainingRuntime"]
