"""All SQL is parameterised: no statement in ``src/`` is built by pasting values into a string.

The walk looks at every f-string, ``%``-format, ``.format()`` and ``+`` whose literal text starts
like a SQL statement (``SELECT``, ``INSERT``, ``UPDATE``, ``DELETE``, ``WITH``, DDL, ``COPY``…),
wherever it is — passed to ``text()``/``execute()`` directly or kept in a variable first.

A few statements must interpolate what SQL cannot bind: a database name in ``CREATE DATABASE``,
table and column names from fixed lists, fragments composed from code constants. Each of those
carries ``# noqa: S608`` (ruff's rule for string-built SQL, which the project enables) or a
``# sql-reviewed: <why>`` comment on the line above or on one of its lines: a reviewer checked that
nothing interpolated comes from a request or a file. Code that handles requests (routers,
repositories, ``api/``, the dashboard) gets no such exception at all.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).parents[2] / "src" / "edgewatch"
_STATEMENT = re.compile(
    r"^\s*\(?\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|DROP|ALTER|TRUNCATE|COPY|MERGE|GRANT)\b"
)
REVIEWED = ("noqa: S608", "sql-reviewed:")
#: Request-handling code: no reviewed exceptions either.
STRICT = re.compile(r"(^|/)(api/.*|dashboard/.*|[a-z_]*router\.py|repository\.py)$")


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    end_line: int
    code: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(SRC.parent.parent)}:{self.line}: {self.code}"


def _literal_text(node: ast.expr) -> str:
    """The literal text a string expression starts with ('' when it starts with a value)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        first = node.values[0] if node.values else None
        return first.value if isinstance(first, ast.Constant) else ""
    if isinstance(node, ast.BinOp):
        return _literal_text(node.left)
    return ""


def _built_sql(node: ast.AST) -> ast.expr | None:
    """The string-building expression in ``node`` that makes a SQL statement, if it is one."""
    if isinstance(node, ast.JoinedStr) and any(
        isinstance(v, ast.FormattedValue) for v in node.values
    ):
        return node if _STATEMENT.match(_literal_text(node)) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        plain = isinstance(node.left, ast.Constant) and isinstance(node.right, ast.Constant)
        if not plain and _STATEMENT.match(_literal_text(node.left)):
            return node
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and _STATEMENT.match(_literal_text(node.func.value))
    ):
        return node
    return None


def find_built_sql(root: Path) -> list[tuple[Finding, bool]]:
    """Every string-built statement under ``root``, with whether it is marked as reviewed."""
    found = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source, filename=str(path))):
            built = _built_sql(node)
            if built is None:
                continue
            end = built.end_lineno or built.lineno
            marked = lines[max(built.lineno - 2, 0) : end]
            reviewed = any(mark in line for line in marked for mark in REVIEWED)
            code = ast.unparse(built).replace("\n", " ")[:120]
            found.append((Finding(path, built.lineno, end, code), reviewed))
    return found


def test_no_sql_is_built_from_strings_without_review() -> None:
    unreviewed = [str(finding) for finding, reviewed in find_built_sql(SRC) if not reviewed]

    assert not unreviewed, (
        "SQL built by string formatting; bind values as parameters (text(':name'), "
        "select().where(...)) instead:\n" + "\n".join(unreviewed)
    )


def test_request_handling_code_builds_no_sql_from_strings_at_all() -> None:
    strict = [
        str(finding)
        for finding, _ in find_built_sql(SRC)
        if STRICT.search(finding.path.relative_to(SRC).as_posix())
    ]

    assert not strict, "string-built SQL in request-handling code:\n" + "\n".join(strict)


def test_the_walk_finds_each_way_of_building_sql(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from sqlalchemy import text\n"
        "def q(session, name, table):\n"
        "    session.execute(text(f\"SELECT * FROM markets WHERE title = '{name}'\"))\n"
        "    sql = 'DELETE FROM %s' % table\n"
        "    other = 'UPDATE markets SET title = {}'.format(name)\n"
        "    glued = 'SELECT * FROM ' + table\n"
        "    fine = text('SELECT * FROM markets WHERE title = :name')\n"
        "    message = f'Select a market: {name}'\n"
        "    ddl = f'CREATE DATABASE \"{name}\"'  # noqa: S608 - operator's name\n"
        "    # sql-reviewed: a fixed table name\n"
        "    count = f'SELECT count(*) FROM {table}'\n"
        "    return sql, other, glued, fine, message, ddl, count\n"
    )

    found = {(f.line, reviewed) for f, reviewed in find_built_sql(tmp_path)}

    assert found == {(3, False), (4, False), (5, False), (6, False), (9, True), (11, True)}
