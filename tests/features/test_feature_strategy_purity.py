"""features/ and strategies/ stay pure: no database, models, API, jobs or venue clients."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "edgewatch"
FORBIDDEN = ("edgewatch.db", "edgewatch.models", "edgewatch.api", "edgewatch.jobs")
ALLOWED_VENUE_MODULES = {"edgewatch.venues.fees", "edgewatch.venues.base"}


def _imports(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
    return found


@pytest.mark.parametrize("package", ["features", "strategies"])
def test_pure_packages_import_nothing_with_side_effects(package: str) -> None:
    offending = []
    for path in sorted((SRC / package).rglob("*.py")):
        for module in _imports(path):
            bad = any(module == f or module.startswith(f + ".") for f in FORBIDDEN)
            venue = module.startswith("edgewatch.venues") and module not in ALLOWED_VENUE_MODULES
            if bad or venue:
                offending.append(f"{path.relative_to(SRC)}: {module}")
    assert not offending
