"""The demo's first admin: created once, its one-time password printed once.

``edgewatch demo`` turns public read on (anyone sees the data) and makes sure an admin exists for
everything else. Running the demo again finds the account and prints only its email: the password
was shown the first time, and ``edgewatch users reset-password`` makes a new one.
"""

from __future__ import annotations

from rich.console import Console
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.accounts import passwords, users
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db.engine import create_db_engine
from edgewatch.db.session import make_session_factory, session_scope

DEMO_ADMIN_EMAIL = "admin@edgewatch.local"
BOOTSTRAP_ACTOR = "system:bootstrap"


def ensure_admin(
    factory: sessionmaker[Session], *, email: str = DEMO_ADMIN_EMAIL
) -> tuple[str, str | None]:
    """Create the admin ``email`` unless it exists; returns the email and the new password, or
    ``None`` for the password when the account was already there."""
    with session_scope(factory) as session:
        if users.by_email(session, email) is not None:
            return email, None
        password = passwords.one_time_password()
        users.create(
            session,
            email=email,
            role="admin",
            actor=BOOTSTRAP_ACTOR,
            password=password,
            now=utcnow(),
        )
        return email, password


def announce_demo_admin(settings: Settings, console: Console) -> None:
    """Make sure the demo admin exists (on a migrated database) and say how to sign in."""
    engine = create_db_engine(settings.resolved_database_url, pool_size=1)
    try:
        email, password = ensure_admin(make_session_factory(engine))
    finally:
        engine.dispose()
    if password is None:
        console.print(
            f"admin account: {email} (password shown at its creation; "
            f"`edgewatch users reset-password --email {email}` makes a new one)"
        )
    else:
        console.print(f"admin account: {email}  one-time password: [bold]{password}[/]")
    console.print("anyone can read; sign in at /auth/login for everything else")
