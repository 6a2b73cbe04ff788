"""The house rules of the code's shape, checked: the worker shell never imports `streams`
(it is handed settings values), the rules core imports no infrastructure, and no function in
`agents/` or `streams/` runs over 100 lines."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LONGEST_FUNCTION = 100


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_agents_never_import_streams() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(
            n for n in _imports(path) if n.split(".")[0] == "streams"
        )
        for path in (REPO / "agents").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_rules_core_imports_no_infrastructure() -> None:
    banned = {"faust", "aiokafka", "confluent_kafka", "duckdb", "pydantic_settings", "mode"}
    offenders = {
        str(path.relative_to(REPO)): sorted(n for n in _imports(path) if n.split(".")[0] in banned)
        for path in (REPO / "agents" / "rules").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_no_function_in_agents_or_streams_runs_over_100_lines() -> None:
    long = []
    for folder in ("agents", "streams"):
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = (node.end_lineno or node.lineno) - node.lineno + 1
                    if lines > LONGEST_FUNCTION:
                        long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} {lines}")
    assert long == []


def test_every_code_folder_is_a_package_that_pip_installs() -> None:
    """A folder without __init__.py is a namespace package, which `pip install .` (the
    Docker image) leaves out."""
    folders = {
        path.parent
        for top in ("agents", "schemas", "sink", "streams")
        for path in (REPO / top).rglob("*.py")
    }
    assert (
        sorted(str(f.relative_to(REPO)) for f in folders if not (f / "__init__.py").exists()) == []
    )


def test_no_two_test_modules_share_a_name() -> None:
    """The test folders are not packages: pytest imports each module by its file name, and a
    second module of the same name stops the whole collection."""
    names = [path.name for path in (REPO / "tests").rglob("test_*.py")]
    assert sorted({name for name in names if names.count(name) > 1}) == []
