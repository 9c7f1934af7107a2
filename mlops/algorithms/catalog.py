"""Finding and loading algorithm specifications from the algorithms folder."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError as PydanticValidationError

from mlops.core.algorithm import AlgorithmSpec
from mlops.core.errors import NotFoundError, ValidationError

SPEC_FILE = "algorithm.json"


class AlgorithmCatalog:
    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob(f"*/{SPEC_FILE}"))

    def folder(self, name: str) -> Path:
        folder = self.root / name
        if not (folder / SPEC_FILE).is_file():
            known = ", ".join(self.names()) or "none"
            raise NotFoundError("algorithm", name, f"Known algorithms: {known} (under {self.root})")
        return folder

    def get(self, name: str) -> AlgorithmSpec:
        folder = self.folder(name)
        path = folder / SPEC_FILE
        try:
            spec = AlgorithmSpec.model_validate_json(path.read_text())
        except PydanticValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValidationError(str(path), f"{where}: {first['msg']}") from None
        return spec.model_copy(update={"Folder": str(folder)})
