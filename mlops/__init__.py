"""A SageMaker-style MLOps platform orchestrated by Airflow that runs on one machine by default."""

__version__ = "0.1.0"
