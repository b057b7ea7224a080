"""What every ``edgewatch`` command shares: a database session, and errors as one line.

The root ``main()`` already turns an ``EdgewatchError`` into one line and exit status 2; commands
still wrap themselves with ``one_line_errors`` so that they behave the same when invoked directly
(typer's test runner, ``python -m edgewatch.<package>``) and so that Ctrl-C stops them cleanly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from edgewatch.config import load_settings
from edgewatch.db.connect import open_migrated_engine
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.errors import EdgewatchError, error_line
from edgewatch.observability.logging import configure_logging

P = ParamSpec("P")
R = TypeVar("R")
#: Exit status for errors the user can fix (configuration, input, an unreachable database).
USAGE_ERROR = 2

err = Console(stderr=True)


def fail(message: str) -> NoReturn:
    """Stop the command with ``edgewatch: <message>`` on stderr and exit status 2."""
    typer.echo(error_line(message), err=True)
    raise typer.Exit(USAGE_ERROR)


def one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """One line on stderr and exit 2 for errors the user can fix; exit 130 on Ctrl-C."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except EdgewatchError as exc:
            fail(exc.message)
        except KeyboardInterrupt:
            err.print("edgewatch: cancelled; nothing was stored", highlight=False)
            raise typer.Exit(130) from None

    return wrapper


@contextmanager
def command_session() -> Iterator[Session]:
    """The configured database, reachable and migrated, and one transaction for the command."""
    settings = load_settings()
    configure_logging(level="warning", fmt=settings.log_format)
    engine = open_migrated_engine(settings.resolved_database_url, pool_size=1)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()
