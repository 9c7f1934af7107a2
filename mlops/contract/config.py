"""Reading /opt/ml/input/config/*.json and turning hyperparameter strings into typed values."""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.contract.errors import AlgorithmError
from mlops.contract.layout import Layout


@dataclass(frozen=True)
class ChannelConfig:
    name: str
    content_type: str
    input_mode: str  # "File" or "Pipe"
    compression: str = "None"

    @property
    def base_content_type(self) -> str:
        return self.content_type.split(";")[0].strip().lower()


def _load(path: Path) -> Any:
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise AlgorithmError(f"{path.name} is not valid JSON: {e}") from None


def read_hyperparameters(layout: Layout) -> dict[str, str]:
    raw = _load(layout.hyperparameters_file)
    if not isinstance(raw, dict):
        raise AlgorithmError("hyperparameters.json must hold a JSON object")
    return {str(k): str(v) for k, v in raw.items()}


def read_input_data_config(layout: Layout, default_mode: str = "File") -> dict[str, ChannelConfig]:
    raw = _load(layout.input_data_config_file)
    if not isinstance(raw, dict):
        raise AlgorithmError("inputdataconfig.json must hold a JSON object")
    out: dict[str, ChannelConfig] = {}
    for name, cfg in raw.items():
        cfg = cfg if isinstance(cfg, dict) else {}
        out[name] = ChannelConfig(
            name=name,
            content_type=str(cfg.get("ContentType", "text/csv")),
            input_mode=str(cfg.get("TrainingInputMode", default_mode)),
            compression=str(cfg.get("CompressionType", "None")),
        )
    return out


def read_resource_config(layout: Layout) -> dict[str, Any]:
    raw = _load(layout.resource_config_file)
    return raw if isinstance(raw, dict) else {}


class HyperParameters:
    """Typed access to the string hyperparameters SageMaker passes, with defaults and clear errors."""

    def __init__(self, values: dict[builtins.str, builtins.str]) -> None:
        self._values = dict(values)

    def raw(self) -> dict[builtins.str, builtins.str]:
        return dict(self._values)

    def __contains__(self, name: builtins.str) -> bool:
        return name in self._values

    def str(self, name: builtins.str, default: builtins.str | None = None) -> builtins.str | None:
        return self._values.get(name, default)

    def int(self, name: builtins.str, default: builtins.int | None = None) -> builtins.int | None:
        value = self._values.get(name)
        if value is None:
            return default
        try:
            return int(float(value)) if float(value).is_integer() else int(value)
        except ValueError:
            raise AlgorithmError(f"hyperparameter {name}: {value!r} is not an integer") from None

    def float(self, name: builtins.str, default: builtins.float | None = None) -> builtins.float | None:
        value = self._values.get(name)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            raise AlgorithmError(f"hyperparameter {name}: {value!r} is not a number") from None

    def bool(self, name: builtins.str, default: builtins.bool | None = None) -> builtins.bool | None:
        value = self._values.get(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise AlgorithmError(f"hyperparameter {name}: {value!r} is not a boolean")
