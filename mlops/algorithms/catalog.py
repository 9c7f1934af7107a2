"""Finding and loading algorithm specifications from the algorithms folder."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError as PydanticValidationError

from mlops.core.algorithm import AlgorithmSpec
from mlops.core.errors import NotFoundError, ValidationError
from mlops.core.files import path_under
from mlops.core.ids import check_name

SPEC_FILE = "algorithm.json"


class AlgorithmCatalog:
    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name for p in self.root.glob(f"*/{SPEC_FILE}"))

    def folder(self, name: str) -> Path:
        """The algorithm's folder. The name is checked (SageMaker's rule) and must name an entry of the
        catalog: an AlgorithmName is what decides which ``train`` or ``serve`` runs. An entry may be a link
        the catalog's owner placed (to an algorithm kept elsewhere); a name cannot make one."""
        field = "AlgorithmName"
        folder = path_under(self.root, check_name(field, name), field=field, follow_links=False)
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
            raise ValidationError(str(path), f"{where}: {first['msg']}" if where else first["msg"]) from None
        except ValidationError as e:  # a check of the spec's own (a default objective, a search range …)
            raise ValidationError(str(path), str(e)) from None
        return spec.model_copy(update={"Folder": str(folder)})
