"""The import rule: the analytical core stays pure, so one strategy serves backtest, paper, live.

``features/``, ``strategies/`` and ``backtest/`` (and the fee model) never import the database, the
API, the jobs or the venue clients. An AST walk over their sources keeps it so. A capability's
edge modules (``service``, ``repository``, ``router``, ``cli``, ``tasks``…) do the I/O around the
pure core and are exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "edgewatch"
PURE = ["features", "strategies", "backtest", "venues/fees.py"]
EDGES = {"service.py", "repository.py", "router.py", "schemas.py", "cli.py", "tasks.py", "sweep.py"}
#: The I/O edges of a pure package (stored runs, API, CLI, jobs): they wrap the pure core.
EDGES = {
    "backtest/service.py",
    "backtest/repository.py",
    "backtest/schemas.py",
    "backtest/router.py",
    "backtest/cli.py",
    "backtest/sweep.py",
    "backtest/tasks.py",
}
FORBIDDEN = (
    "edgewatch.db",
    "edgewatch.models",
    "edgewatch.api",
    "edgewatch.jobs",
    "edgewatch.dashboard",
    "edgewatch.venues.kalshi",
    "edgewatch.venues.polymarket",
    "edgewatch.venues.http",
    "sqlalchemy",
    "fastapi",
    "httpx",
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def pure_files() -> list[Path]:
    files: list[Path] = []
    for entry in PURE:
        target = PACKAGE / entry
        files.extend(sorted(target.rglob("*.py")) if target.is_dir() else [target])
    return [f for f in files if f.exists() and str(f.relative_to(PACKAGE)) not in EDGES]


@pytest.mark.parametrize("path", pure_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_pure_modules_import_no_io(path: Path) -> None:
    bad = sorted(name for name in imported_modules(path) if name.startswith(FORBIDDEN))
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_the_rule_covers_the_strategies_package() -> None:
    assert any("strategies" in str(path) for path in pure_files())
