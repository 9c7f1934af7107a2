"""The /opt/ml tree of SageMaker's container contract, relocatable for running outside a container.

Inside a container the root is /opt/ml. A local runtime sets ``MLOPS_CONTRACT_ROOT`` to a job folder,
and the same algorithm code then reads and writes there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT_ENV = "MLOPS_CONTRACT_ROOT"
DEFAULT_ROOT = "/opt/ml"


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Layout:
        env = os.environ if environ is None else environ
        return cls(Path(env.get(ROOT_ENV, DEFAULT_ROOT)))

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @property
    def config_dir(self) -> Path:
        return self.root / "input" / "config"

    @property
    def hyperparameters_file(self) -> Path:
        return self.config_dir / "hyperparameters.json"

    @property
    def input_data_config_file(self) -> Path:
        return self.config_dir / "inputdataconfig.json"

    @property
    def resource_config_file(self) -> Path:
        return self.config_dir / "resourceconfig.json"

    @property
    def data_dir(self) -> Path:
        return self.root / "input" / "data"

    def channel_dir(self, channel: str) -> Path:
        return self.data_dir / channel

    def pipe_path(self, channel: str, epoch: int) -> Path:
        """Pipe mode: one FIFO per channel and epoch, ``<channel>_<epoch>``."""
        return self.data_dir / f"{channel}_{epoch}"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def output_data_dir(self) -> Path:
        return self.root / "output" / "data"

    @property
    def failure_file(self) -> Path:
        return self.root / "output" / "failure"

    @property
    def checkpoint_dir(self) -> Path:
        return self.root / "checkpoints"

    def create(self) -> Layout:
        """Make the folders a job needs (the runtime's job, not the algorithm's)."""
        for d in (self.config_dir, self.data_dir, self.model_dir, self.output_data_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self
