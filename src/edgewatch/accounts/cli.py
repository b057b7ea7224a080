"""``edgewatch users …`` (local accounts) and ``edgewatch audit verify`` (the audit chain).

Passwords are never typed on the command line: ``users create`` and ``users reset-password``
generate a one-time password and print it once. Changes are audited with the operating-system user
as actor (``cli:<name>``). Errors the user can fix are one ``edgewatch: …`` line, exit status 2; a
broken audit chain exits 1.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from edgewatch.accounts import passwords, users
from edgewatch.audit import service as audit
from edgewatch.clock import utcnow
from edgewatch.command import fail
from edgewatch.config import load_settings
from edgewatch.db import migrate
from edgewatch.db.engine import create_db_engine
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.errors import EdgewatchError
from edgewatch.models import AuditEntry, User
from edgewatch.models.account import ROLES

T = TypeVar("T")

users_app = typer.Typer(help="Local accounts: create, list, roles.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
console = Console()

EmailOption = Annotated[str, typer.Option("--email", help="The user's email address.")]
RoleOption = Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")]


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@contextmanager
def _session() -> Iterator[Session]:
    settings = load_settings()
    url = settings.resolved_database_url
    migrate.upgrade(url)
    engine = create_db_engine(url, pool_size=1)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _run(action: Callable[[Session], T]) -> T:
    try:
        with _session() as session:
            return action(session)
    except EdgewatchError as exc:
        fail(exc.message)


@users_app.command("create")
def create_command(
    email: EmailOption,
    role: RoleOption = "viewer",
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
) -> None:
    """Create a local account and print its one-time password (shown only now)."""
    password = passwords.one_time_password()

    def create(session: Session) -> User:
        return users.create(
            session,
            email=email,
            role=role,
            actor=_actor(),
            password=password,
            display_name=name,
            now=utcnow(),
        )

    user = _run(create)
    console.print(f"created {user.role} {user.email}")
    console.print(
        f"one-time password: [bold]{password}[/]  (shown once; change it after signing in)"
    )


@users_app.command("reset-password")
def reset_password_command(email: EmailOption) -> None:
    """Give a user a new one-time password (their sessions end); prints it once."""
    password = passwords.one_time_password()
    _run(
        lambda session: users.set_password(
            session, users.get(session, email), password=password, actor=_actor(), now=utcnow()
        )
    )
    console.print(f"new one-time password for {email.strip().lower()}: [bold]{password}[/]")


@users_app.command("list")
def list_command() -> None:
    """Every account: email, role, state, last sign-in."""

    def rows(session: Session) -> list[User]:
        return list(session.scalars(select(User).order_by(User.id)))

    accounts = _run(rows)
    table = Table("id", "email", "role", "state", "last sign-in")
    for user in accounts:
        state = "erased" if user.erased_at else ("active" if user.is_active else "disabled")
        last = user.last_login_at.isoformat(timespec="seconds") if user.last_login_at else "never"
        table.add_row(str(user.id), user.email, user.role, state, last)
    console.print(table)
    console.print(f"{len(accounts)} users")


@users_app.command("set-role")
def set_role_command(email: EmailOption, role: RoleOption) -> None:
    """Change a user's role; their API keys narrow or widen with it at once."""
    _run(
        lambda session: users.set_role(
            session, users.get(session, email), role=role, actor=_actor()
        )
    )
    console.print(f"{email.strip().lower()} is now {role}")


@users_app.command("disable")
def disable_command(email: EmailOption) -> None:
    """Disable a user: their sessions end and their API keys stop working."""
    _run(
        lambda session: users.set_active(
            session, users.get(session, email), active=False, actor=_actor(), now=utcnow()
        )
    )
    console.print(f"{email.strip().lower()} is disabled")


@users_app.command("enable")
def enable_command(email: EmailOption) -> None:
    """Re-enable a disabled user (they sign in again; their unexpired keys work again)."""
    _run(
        lambda session: users.set_active(
            session, users.get(session, email), active=True, actor=_actor(), now=utcnow()
        )
    )
    console.print(f"{email.strip().lower()} is enabled")


@audit_app.command("verify")
def verify_command() -> None:
    """Recompute the audit chain; exit 1 naming the first entry that does not match."""

    def check(session: Session) -> audit.ChainReport:
        total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("verifying the audit chain", total=total)
            return audit.verify(
                session, progress=lambda done: progress.update(task, completed=done)
            )

    report = _run(check)
    if not report.ok:
        typer.echo(
            f"edgewatch: audit chain broken at entry {report.first_broken_id} "
            f"({report.entries} entries checked): it was edited, deleted or inserted out of order",
            err=True,
        )
        raise typer.Exit(1)
    console.print(f"audit chain intact: {report.entries} entries verified")
