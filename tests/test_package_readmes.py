"""The package READMEs and docs/architecture.md stay true to the code: every package has a README that
names each of its modules and points at the architecture document, which names every package."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.parent for p in (ROOT / "mlops").glob("*/__init__.py"))


def _modules(package: Path) -> list[str]:
    return sorted(p.stem for p in package.glob("*.py") if p.stem not in ("__init__", "__main__"))


def _names_module(text: str, module: str) -> bool:
    """``name.py`` anywhere, or the bare name in backticks (`name`, `name.Class`)."""
    return re.search(rf"(?<![\w.]){re.escape(module)}\.py\b|`{re.escape(module)}[`.]", text) is not None


def test_every_package_has_a_readme_naming_its_modules() -> None:
    missing = []
    for package in PACKAGES:
        readme = package / "README.md"
        if not readme.exists():
            missing.append(f"{package.relative_to(ROOT)}/README.md does not exist")
            continue
        text = readme.read_text()
        if "../../docs/architecture.md" not in text:
            missing.append(f"{readme.relative_to(ROOT)} does not point at docs/architecture.md")
        missing += [
            f"{readme.relative_to(ROOT)} does not name {module}.py"
            for module in _modules(package)
            if not _names_module(text, module)
        ]
    assert not missing, "\n".join(missing)


def test_the_architecture_document_names_every_package() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    missing = [p.name for p in PACKAGES if f"{p.name}/" not in text]
    assert not missing, f"docs/architecture.md does not name: {', '.join(missing)}"
