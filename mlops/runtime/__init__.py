"""Training runtimes (CreateTrainingJob / DescribeTrainingJob / StopTrainingJob shaped) and model
server runtimes. Implementations: local process (here), Docker (docker.py)."""

from mlops.runtime.interface import ModelServer, ModelServerRuntime, TrainingRuntime

__all__ = ["ModelServer", "ModelServerRuntime", "TrainingRuntime"]
