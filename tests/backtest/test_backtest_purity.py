"""The backtest engine is pure: no database, API, jobs or venue clients."""

from __future__ import annotations

import ast
from pathlib import Path

import edgewatch.backtest

ALLOWED = (
    "edgewatch.backtest",
    "edgewatch.strategies",
    "edgewatch.venues.fees",
    "edgewatch.errors",
)
#: The I/O edge of the package (stored runs, API, CLI, sweeps, jobs); the core never imports it.
EDGES = ("service", "repository", "schemas", "router", "cli", "sweep", "tasks")


def test_backtest_imports_only_pure_modules() -> None:
    package = Path(edgewatch.backtest.__file__).parent
    found: list[str] = []
    for path in sorted(p for p in package.glob("*.py") if p.stem not in EDGES):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.append(node.module)
            elif isinstance(node, ast.Import):
                found.extend(alias.name for alias in node.names)
    internal = [name for name in found if name.startswith("edgewatch")]
    assert internal, "expected some internal imports"
    assert [name for name in internal if not name.startswith(ALLOWED)] == []
    edge_modules = tuple(f"edgewatch.backtest.{name}" for name in EDGES)
    assert [name for name in internal if name.startswith(edge_modules)] == []
