"""Export the OpenAPI document to ``docs/openapi.json``, or check that the file is current.

    edgewatch openapi export [--check] [--output docs/openapi.json]
    python -m edgewatch.api.openapi_export [--check] [--output docs/openapi.json]

The file is the app's own ``/openapi.json`` as sorted, indented JSON, so a route change shows up
as a readable diff in review. CI (``tests/api/test_api_openapi_current.py``) fails when it is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from edgewatch.config import load_settings

DEFAULT_OUTPUT = Path("docs/openapi.json")
EXPORT_COMMAND = "uv run edgewatch openapi export"

app = typer.Typer(help="The OpenAPI document (docs/openapi.json).", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """The OpenAPI document (docs/openapi.json)."""


def render() -> str:
    """The document as it is committed: sorted keys, two-space indent, trailing newline."""
    from edgewatch.api.app import create_app

    schema = create_app(load_settings()).openapi()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@app.command("export")
def export(
    check: Annotated[
        bool, typer.Option("--check", help="Only check that the file is current; exit 1 if not.")
    ] = False,
    output: Annotated[Path, typer.Option(help="Where the document goes.")] = DEFAULT_OUTPUT,
) -> None:
    """Write the OpenAPI document (or, with --check, fail if the file differs from it)."""
    document = render()
    if check:
        current = output.is_file() and output.read_text(encoding="utf-8") == document
        if not current:
            typer.echo(f"{output} is stale: run `{EXPORT_COMMAND}` and commit it.", err=True)
            raise typer.Exit(1)
        typer.echo(f"{output} is current.")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(document, encoding="utf-8")
    operations = sum(len(item) for item in json.loads(document)["paths"].values())
    typer.echo(f"Wrote {output}: {operations} operations.")


if __name__ == "__main__":
    typer.run(export)
