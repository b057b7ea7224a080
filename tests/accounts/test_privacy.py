"""GDPR: export everything about a user; erase it so nothing personal is left in any table, while
the audit chain still verifies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from edgewatch.accounts import users
from edgewatch.accounts.users import SsoProfile
from edgewatch.cli import app as cli_app
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db.session import session_scope
from edgewatch.models import AuditEntry, User

from .conftest import TestClient, sign_in

EMAIL = "ada.lovelace@example.com"
NAME = "Ada Augusta Lovelace"
IP = "203.0.113.77"
AGENT = "Mozilla/5.0 (Analytical Engine) Difference/1843"
SUBJECT = "idp-subject-ada-1815-unique"


@pytest.fixture
def ada(
    app: Any,
    client: TestClient,
    make_user: Any,
    session_factory: sessionmaker[Session],
    app_settings: Settings,
) -> tuple[TestClient, dict[str, Any]]:
    """Ada, with everything a user leaves behind: a session from a known address and browser,
    an SSO identity, an API key, a consent choice and audit entries."""
    make_user(EMAIL, "analyst", display_name=NAME)
    with session_scope(session_factory) as session:
        users.sign_in_with_sso(
            session,
            SsoProfile(
                provider="oidc", subject=SUBJECT, email=EMAIL, email_verified=True, name=NAME
            ),
            settings=app_settings,
            now=utcnow(),
        )
    web = TestClient(
        app, base_url="https://testserver", client=(IP, 50000), headers={"User-Agent": AGENT}
    )
    me = sign_in(web, EMAIL)
    csrf = {"X-CSRF-Token": me["csrf_token"]}
    assert web.post("/api/v1/me/keys", json={"name": "notebook"}, headers=csrf).status_code == 201
    assert web.put("/api/v1/me/consent", json={"analytics": True}, headers=csrf).status_code == 200
    return web, csrf


def _rows_mentioning(engine: Engine, needles: list[str]) -> list[str]:
    """Every (table, column) of the live database whose value contains one of ``needles``."""
    metadata = MetaData()
    metadata.reflect(engine)
    found = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for column, value in row._mapping.items():
                    text = str(value).lower()
                    hits = [needle for needle in needles if needle.lower() in text]
                    if hits:
                        found.append(f"{table.name}.{column}: {hits}")
    return found


def test_export_holds_everything_about_the_user_and_no_secret(
    ada: tuple[TestClient, dict[str, Any]], session: Session
) -> None:
    web, _ = ada

    response = web.get("/api/v1/me/export")

    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    document = response.json()
    assert document["profile"]["email"] == EMAIL and document["profile"]["display_name"] == NAME
    assert [key["name"] for key in document["api_keys"]] == ["notebook"]
    assert {row["ip_address"] for row in document["sessions"]} == {IP}
    assert {row["user_agent"] for row in document["sessions"]} == {AGENT}
    assert document["sso_identities"][0]["subject"] == SUBJECT
    assert document["consent"] == [
        {
            "purpose": "analytics",
            "granted": True,
            "decided_at": document["consent"][0]["decided_at"],
        }
    ]
    actions = [entry["action"] for entry in document["audit_entries"]]
    assert {"user.create", "auth.login", "api_key.create", "consent.update"} <= set(actions)
    text = response.text
    assert "key_hash" not in text and "password_hash" not in text and "$argon2" not in text
    assert session.scalars(select(AuditEntry.action)).all()[-1] == "user.export"


def test_erasure_leaves_no_personal_field_in_any_table_and_the_audit_chain_verifies(
    ada: tuple[TestClient, dict[str, Any]],
    engine: Engine,
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    web, csrf = ada
    personal = [EMAIL, NAME, IP, AGENT, SUBJECT, "Lovelace"]
    assert _rows_mentioning(engine, personal)  # the scan does find them before erasure
    pseudonym = session.scalars(select(User.pseudonym).where(User.email == EMAIL)).one()

    response = web.delete("/api/v1/me", headers=csrf)

    assert response.status_code == 204
    assert _rows_mentioning(engine, personal) == []
    erased = session.scalars(select(User).where(User.pseudonym == pseudonym)).one()
    assert erased.erased_at is not None and not erased.is_active
    entries = session.scalars(select(AuditEntry).where(AuditEntry.actor == pseudonym)).all()
    assert entries and entries[-1].action == "user.erase"  # kept, under the pseudonym
    assert web.get("/api/v1/me").status_code == 401

    monkeypatch.setenv("EDGEWATCH_DATABASE_URL", settings.resolved_database_url)
    result = CliRunner().invoke(cli_app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit chain intact" in result.output


def test_the_last_admin_cannot_erase_themselves(
    client_as: Callable[..., TestClient], session: Session, problem: Any
) -> None:
    for admin in session.scalars(select(User).where(User.role == "admin")):
        admin.is_active = False
    session.commit()
    last = client_as("admin")

    problem(last.delete("/api/v1/me"), status=409, code="conflict")


def test_consent_starts_withdrawn_and_records_each_change(
    client_as: Callable[..., TestClient], session: Session
) -> None:
    viewer = client_as("viewer")

    initial = viewer.get("/api/v1/me/consent").json()
    granted = viewer.put("/api/v1/me/consent", json={"analytics": True}).json()
    again = viewer.put("/api/v1/me/consent", json={"analytics": True}).json()
    withdrawn = viewer.put("/api/v1/me/consent", json={"analytics": False}).json()

    assert initial == {"analytics": False, "decided_at": None}
    assert granted["analytics"] and again["analytics"] and not withdrawn["analytics"]
    changes = session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == "consent.update")
    ).all()
    assert [change["granted"] for change in changes] == [True, False]
