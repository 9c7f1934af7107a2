"""The layer check of ARCHITECTURE.md: dependencies point inward only.

core imports nothing of ours but core; contract nothing but contract; capability packages never
import services, the CLI or Airflow glue; services never import the CLI or Airflow glue. Airflow is
imported only under mlops/airflow/, boto3 only by modules named for AWS (s3.py, sagemaker*.py, aws*.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mlops"
OUTER = {"services", "cli", "airflow", "__main__"}
AWS_MODULE_NAMES = ("s3.py", "sagemaker.py", "aws.py")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _modules() -> list[tuple[Path, str, list[str]]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        layer = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        out.append((path, layer, _imports(path)))
    return out


def _ours(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if parts[0] == "mlops" and len(parts) > 1 else None


def test_core_imports_only_core_and_pydantic() -> None:
    bad = []
    for path, layer, imports in _modules():
        if layer != "core":
            continue
        for name in imports:
            top = name.split(".")[0]
            if (_ours(name) not in (None, "core")) or (
                top not in ("mlops", "pydantic", "__future__") and not _stdlib(top)
            ):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(bad)


def test_contract_imports_only_contract() -> None:
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path, layer, imports in _modules()
        if layer == "contract"
        for name in imports
        if _ours(name) not in (None, "contract")
    ]
    assert not bad, "\n".join(bad)


def test_arrows_point_inward() -> None:
    bad = []
    for path, layer, imports in _modules():
        for name in imports:
            target = _ours(name)
            if target is None:
                continue
            if layer not in OUTER and target in OUTER:
                bad.append(f"{path.relative_to(ROOT)} ({layer}) imports {name}")
            if layer == "services" and target in ("cli", "airflow"):
                bad.append(f"{path.relative_to(ROOT)} (services) imports {name}")
    assert not bad, "\n".join(bad)


def test_airflow_only_under_mlops_airflow_and_dags() -> None:
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path, layer, imports in _modules()
        if layer != "airflow"
        for name in imports
        if name.split(".")[0] == "airflow"
    ]
    assert not bad, "\n".join(bad)


def test_boto3_only_in_modules_named_for_aws() -> None:
    bad = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path, _, imports in _modules()
        for name in imports
        if name.split(".")[0] in ("boto3", "botocore")
        and not path.name.startswith(AWS_MODULE_NAMES)
        and path.name not in AWS_MODULE_NAMES
    ]
    assert not bad, "\n".join(bad)


def _stdlib(top: str) -> bool:
    import sys

    return top in sys.stdlib_module_names
