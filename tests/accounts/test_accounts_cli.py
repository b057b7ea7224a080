"""``edgewatch users …`` and ``edgewatch audit verify`` against a real database."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from edgewatch.accounts import passwords
from edgewatch.accounts.bootstrap import DEMO_ADMIN_EMAIL, ensure_admin
from edgewatch.cli import app as cli_app
from edgewatch.config import Settings
from edgewatch.models import AuditEntry, User, UserSession

from .conftest import sign_in


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("EDGEWATCH_DATABASE_URL", settings.resolved_database_url)

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli_app, list(args))
        return result.exit_code, result.stdout, result.stderr

    return invoke


def _password(output: str) -> str:
    match = re.search(r"password[^:]*: (\S+)", output)
    assert match, output
    return match.group(1)


def test_users_create_prints_a_one_time_password_that_signs_in(
    run: Any, browser: Any, session: Session
) -> None:
    code, out, _ = run("users", "create", "--email", "Ada@Example.com", "--role", "analyst")

    assert code == 0, out
    password = _password(out)
    user = session.scalars(select(User).where(User.email == "ada@example.com")).one()
    assert user.role == "analyst" and user.password_hash and password not in user.password_hash
    assert passwords.verify(user.password_hash, password)
    assert sign_in(browser(), "ada@example.com", password)["role"] == "analyst"
    code, out, _ = run("users", "list")
    assert "ada@example.com" in out and "analyst" in out and "users" in out.splitlines()[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("users", "create", "--email", "not-an-email"), "not an email address"),
        (("users", "create", "--email", "x@example.com", "--role", "root"), "unknown role"),
        (("users", "set-role", "--email", "nobody@example.com", "--role", "viewer"), "no user"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run: Any, args: tuple[str, ...], message: str) -> None:
    code, _, err = run(*args)

    # Only the last line is ours: log lines of earlier tests' app set-up may precede it here.
    last = err.strip().splitlines()[-1]
    assert code == 2
    assert last.startswith("edgewatch: ") and message in last and "Traceback" not in err


def test_role_changes_and_disabling_are_audited_and_end_sessions(
    run: Any, browser: Any, make_user: Any, session: Session
) -> None:
    make_user("bob@example.com", "viewer")
    web = browser()
    sign_in(web, "bob@example.com")

    assert run("users", "set-role", "--email", "bob@example.com", "--role", "analyst")[0] == 0
    assert web.get("/api/v1/me").json()["role"] == "analyst"
    assert run("users", "disable", "--email", "bob@example.com")[0] == 0

    assert web.get("/api/v1/me").status_code == 401
    assert session.scalars(select(UserSession.revoked_at)).one() is not None
    details = session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == "user.role_change")
    ).all()
    assert details == [{"from": "viewer", "to": "analyst"}]
    assert session.scalars(select(AuditEntry.actor)).all()[-1].startswith("cli:")


def test_the_last_admin_cannot_be_demoted(run: Any, make_user: Any) -> None:
    make_user("root@example.com", "admin")

    code, _, err = run("users", "set-role", "--email", "root@example.com", "--role", "viewer")

    assert code == 2 and "no active admin" in err


def test_audit_verify_passes_then_names_the_tampered_entry(
    run: Any, make_user: Any, session: Session
) -> None:
    for n in range(3):
        make_user(f"user{n}@example.com")
    code, out, _ = run("audit", "verify")
    assert code == 0 and "3 entries verified" in out

    second = session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()[1]
    session.execute(
        update(AuditEntry).where(AuditEntry.id == second).values(details={"role": "admin"})
    )
    session.commit()
    code, out, err = run("audit", "verify")

    assert code == 1
    assert err.strip().splitlines()[-1] == (
        f"edgewatch: audit chain broken at entry {second} (2 entries checked): "
        "it was edited, deleted or inserted out of order"
    )


def test_the_demo_admin_is_created_once(session_factory: sessionmaker[Session]) -> None:
    email, password = ensure_admin(session_factory)
    again, none = ensure_admin(session_factory)

    assert email == again == DEMO_ADMIN_EMAIL
    assert password and none is None
    with session_factory() as session:
        admin = session.scalars(select(User).where(User.email == email)).one()
        assert admin.role == "admin" and passwords.verify(admin.password_hash, password)
