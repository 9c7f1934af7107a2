"""Artifact store: put/get/list artifacts by URI. A local folder by default; s3:// through boto3."""

from mlops.store.interface import ArtifactStore, open_store

__all__ = ["ArtifactStore", "open_store"]
