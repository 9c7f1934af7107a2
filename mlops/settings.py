"""The platform's one settings object: environment variables (MLOPS_*) over sane embedded defaults.

With no configuration at all, state lives under ./.mlops/ (job records, artifacts, SQLite stores).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mlops.core.home import Home

_REPO_ALGORITHMS = Path(__file__).resolve().parent.parent / "algorithms"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MLOPS_", env_file=".mlops.env", extra="ignore")

    home: Path = Field(default=Path(".mlops"), description="where embedded state lives")
    artifact_root: str | None = Field(
        default=None, description="where model artifacts go (a folder, file:// or s3://); default HOME/artifacts"
    )
    algorithms_dir: Path = Field(default=_REPO_ALGORITHMS, description="folders of algorithm containers")
    s3_endpoint_url: str | None = Field(default=None, description="an S3-compatible endpoint, e.g. moto")
    tracking_uri: str | None = Field(
        default=None, description="MLflow tracking/registry store; default sqlite:///HOME/mlflow.db"
    )
    tracking: bool = Field(
        default=True, description="`mlops train` records each finished job as an MLflow run (--no-track: not)"
    )
    region: str = Field(
        default="us-east-1",
        pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$",
        description="the AWS region the SageMaker API answers as (`mlops credentials` exports it)",
    )
    router_host: str = Field(default="127.0.0.1", description="where the endpoint router listens (loopback)")
    router_port: int = Field(default=8085, description="the endpoint router's port")
    router_allowed_hosts: str = Field(
        default="",
        description="Host names the router answers to besides loopback ones (comma-separated), for when it "
        "listens on another interface; requests naming any other host get 421",
    )
    router_header_timeout_seconds: float = Field(
        default=5.0, gt=0, description="a request's head (request line and headers) must arrive within this"
    )
    router_body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="a request's body must arrive within this once its head has"
    )
    router_keep_alive_seconds: int = Field(default=5, gt=0, description="an idle keep-alive connection is closed after")
    router_max_header_bytes: int = Field(
        default=64 * 1024, gt=0, description="largest request head the router reads; larger ones get 431"
    )
    router_max_connections: int = Field(
        default=1024, gt=0, description="connections open at once; a connection past it gets 503 and is closed"
    )
    router_max_concurrency: int = Field(
        default=128, gt=0, description="invocations handled at once; past it a request gets 503 ServiceUnavailable"
    )
    router_max_response_bytes: int = Field(
        default=6 * 1024 * 1024,
        gt=0,
        description="largest model answer the router relays (SageMaker's 6 MB); a larger one is a ModelError",
    )
    stop_grace_seconds: float = Field(default=120.0, description="SIGTERM to SIGKILL delay when stopping training")
    capture_queue_bytes: int = Field(
        default=64 << 20,
        ge=8 << 20,  # one 6 MB request and its answer must fit
        description="data capture's queue cap in bytes; past it the newest records are dropped (and counted)",
    )

    @field_validator("home", "algorithms_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.resolve()  # processes started with another working directory must find it

    @property
    def paths(self) -> Home:
        """Every place under the home (mlops.core.home)."""
        return Home(self.home)

    @property
    def jobs_dir(self) -> Path:
        return self.paths.jobs

    @property
    def mlflow_uri(self) -> str:
        return self.tracking_uri or f"sqlite:///{self.paths.mlflow_db.resolve()}"

    @property
    def artifacts(self) -> str:
        return self.artifact_root or str(self.paths.artifacts.resolve())


def settings_environment(settings: Settings) -> dict[str, str]:
    """The MLOPS_* variables that give a child process (a runner, a supervisor) these same settings."""
    values = settings.model_dump(exclude_none=True)
    return {f"MLOPS_{key.upper()}": str(value) for key, value in values.items()}


def load_settings() -> Settings:
    return Settings()
