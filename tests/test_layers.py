"""The layer check (the layers are described in docs/architecture.md): dependencies point inward only,
and no module of ours imports itself back through others.

core imports nothing of ours but core; contract nothing but contract; capability packages never
import services, the CLI, the SageMaker-API edge (api) or Airflow glue; services never import the CLI,
api or Airflow glue. Airflow is imported only under mlops/airflow/, boto3 and botocore only by modules
named for AWS (s3.py, sagemaker*.py, aws*.py) and botocore also by mlops/api/ (the SageMaker-API edge
verifies SigV4 with botocore's signer and validates against botocore's service model).
No import cycle joins modules of mlops, counting imports inside functions (a lazy import only hides a
cycle; it does not remove it) and those under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mlops"
OUTER = {"services", "cli", "airflow", "api", "__main__"}
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
            if layer == "services" and target in ("cli", "airflow", "api"):
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
        for path, layer, imports in _modules()
        for name in imports
        if name.split(".")[0] in ("boto3", "botocore")
        and not (layer == "api" and name.split(".")[0] == "botocore")
        and not path.name.startswith(AWS_MODULE_NAMES)
        and path.name not in AWS_MODULE_NAMES
    ]
    assert not bad, "\n".join(bad)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports. ``from a.b import c`` is an import of a.b.c when that is
    a module, else of a.b; a package's own __init__ is not counted as imported by its submodules' users
    (Python runs it first, but it importing its submodules is no cycle)."""
    modules = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    child = f"{node.module}.{alias.name}"
                    if child in modules:
                        targets.add(child)
                    elif node.module in modules:
                        targets.add(node.module)
        targets.discard(name)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle per strongly connected group of modules (Tarjan's algorithm, then a
    breadth-first search inside the group), each as a path that ends where it starts."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    cycles = []
    for group in groups:
        start = min(group)
        previous: dict[str, str] = {}
        frontier = [start]
        while frontier and start not in previous:
            following = []
            for node in frontier:
                for target in sorted(graph[node] & group):
                    if target not in previous:
                        previous[target] = node
                        following.append(target)
            frontier = following
        path = [start]
        while len(path) == 1 or path[-1] != start:
            path.append(previous[path[-1]])
        cycles.append(path[::-1])
    return sorted(cycles)


def test_cycle_finder_reports_a_cycle_as_a_path() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e2"}, "e2": set()}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"x": {"y"}, "y": set()}) == []


def test_no_import_cycles_between_our_modules() -> None:
    cycles = [" -> ".join(cycle) for cycle in _cycles(_import_graph())]
    assert not cycles, "import cycles (lazy imports included):\n" + "\n".join(cycles)


def _stdlib(top: str) -> bool:
    import sys

    return top in sys.stdlib_module_names
