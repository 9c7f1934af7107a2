"""Model registry and experiment tracking: the ModelRegistry and Tracker interfaces and their MLflow
implementations (through mlflow.MlflowClient only)."""
