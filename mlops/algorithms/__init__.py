"""The catalog of algorithm containers: one folder per algorithm under algorithms/, each with an
algorithm.json (SageMaker's CreateAlgorithm shape), a Dockerfile and train/serve entry points."""

from mlops.algorithms.catalog import AlgorithmCatalog

__all__ = ["AlgorithmCatalog"]
