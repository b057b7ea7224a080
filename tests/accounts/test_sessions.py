"""Browser sessions: sign-in with a password, cookies, CSRF, rotation, timeouts, sign-out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from edgewatch.accounts.sessions import CSRF_COOKIE, SESSION_COOKIE, token_hash
from edgewatch.models import AuditEntry, User, UserSession
from edgewatch.observability.metrics import AUTH_FAILURES, LOGINS

from .conftest import PASSWORD, sign_in

Browser = Callable[[], Any]


def test_signing_in_sets_a_hardened_cookie_and_stores_only_its_hash(
    browser: Browser, make_user: Any, session: Session
) -> None:
    email = make_user("ada@example.com", "analyst")
    logins = LOGINS.labels(method="password")._value.get()
    web = browser()

    response = web.post("/auth/login", json={"email": "Ada@Example.com", "password": PASSWORD})

    assert response.status_code == 200, response.text
    cookie = next(
        value
        for name, value in response.headers.multi_items()
        if name == "set-cookie" and value.startswith(SESSION_COOKIE + "=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" in cookie  # the test environment is not development
    token = web.cookies[SESSION_COOKIE]
    stored = session.scalars(select(UserSession)).one()
    assert stored.token_hash == token_hash(token) and token not in stored.token_hash
    assert response.json()["email"] == email and response.json()["authenticated_by"] == "session"
    assert web.get("/api/v1/me").json()["role"] == "analyst"
    assert LOGINS.labels(method="password")._value.get() == logins + 1
    newest = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id.desc())).first()
    assert newest == "auth.login"


def test_wrong_passwords_and_unknown_emails_get_the_same_answer_and_are_audited(
    browser: Browser, make_user: Any, session: Session, problem: Any
) -> None:
    make_user("ada@example.com")
    bad = AUTH_FAILURES.labels(reason="bad_password")._value.get()
    web = browser()

    wrong = web.post("/auth/login", json={"email": "ada@example.com", "password": "nope"})
    nobody = web.post("/auth/login", json={"email": "eve@example.com", "password": "nope"})

    assert (
        problem(wrong, status=401, code="not-authenticated")["detail"]
        == problem(nobody, status=401, code="not-authenticated")["detail"]
    )
    assert SESSION_COOKIE not in web.cookies
    failures = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "auth.login_failed")
    ).all()
    assert [entry.details["reason"] for entry in failures] == ["bad_password", "unknown_user"]
    assert all("@" not in str(entry.details) + entry.actor for entry in failures)
    assert AUTH_FAILURES.labels(reason="bad_password")._value.get() == bad + 1


def test_state_changing_requests_with_a_session_need_the_csrf_token(
    browser: Browser, make_user: Any, problem: Any
) -> None:
    make_user("ada@example.com")
    web = browser()
    me = sign_in(web, "ada@example.com")

    refused = web.post("/api/v1/me/keys", json={"name": "x"})
    wrong = web.post("/api/v1/me/keys", json={"name": "x"}, headers={"X-CSRF-Token": "0" * 64})
    accepted = web.post(
        "/api/v1/me/keys", json={"name": "x"}, headers={"X-CSRF-Token": me["csrf_token"]}
    )

    problem(refused, status=403, code="csrf-failed")
    problem(wrong, status=403, code="csrf-failed")
    assert accepted.status_code == 201
    assert web.cookies[CSRF_COOKIE] == me["csrf_token"]  # readable by scripts, same token
    assert web.get("/api/v1/me").status_code == 200  # reads need no token


def test_signing_in_again_rotates_the_session(
    browser: Browser, make_user: Any, problem: Any
) -> None:
    make_user("ada@example.com")
    web = browser()
    sign_in(web, "ada@example.com")
    first = web.cookies[SESSION_COOKIE]

    sign_in(web, "ada@example.com")

    assert web.cookies[SESSION_COOKIE] != first
    stale = browser()
    stale.cookies.set(SESSION_COOKIE, first)
    problem(stale.get("/api/v1/me"), status=401, code="not-authenticated")


@pytest.mark.parametrize("limit", ["idle", "absolute"])
def test_sessions_end_after_the_idle_and_absolute_timeouts(
    limit: str, browser: Browser, make_user: Any, session: Session, app_settings: Any
) -> None:
    make_user("ada@example.com")
    web = browser()
    sign_in(web, "ada@example.com")
    row = session.scalars(select(UserSession)).one()
    if limit == "idle":
        row.last_seen_at -= timedelta(minutes=app_settings.session_idle_minutes + 1)
    else:
        row.expires_at = row.created_at  # as if max hours had passed, however active
    session.commit()

    assert web.get("/api/v1/me").status_code == 401


def test_logout_revokes_the_session_and_the_old_cookie_gets_401(
    browser: Browser, make_user: Any, session: Session, problem: Any
) -> None:
    make_user("ada@example.com")
    web = browser()
    me = sign_in(web, "ada@example.com")
    token = web.cookies[SESSION_COOKIE]

    out = web.post("/auth/logout", headers={"X-CSRF-Token": me["csrf_token"]})

    assert out.status_code == 204
    replay = browser()
    replay.cookies.set(SESSION_COOKIE, token)
    problem(replay.get("/api/v1/me"), status=401, code="not-authenticated")
    assert session.scalars(select(UserSession.revoked_at)).one() is not None


def test_users_list_and_revoke_only_their_own_sessions(
    browser: Browser, make_user: Any, problem: Any
) -> None:
    make_user("ada@example.com")
    make_user("bob@example.com")
    laptop, phone, bob = browser(), browser(), browser()
    me = sign_in(laptop, "ada@example.com")
    sign_in(phone, "ada@example.com")
    sign_in(bob, "bob@example.com")

    listed = laptop.get("/api/v1/me/sessions").json()
    assert len(listed) == 2 and sum(item["current"] for item in listed) == 1
    assert listed[0]["user_agent"] == "testclient"
    phone_id = next(item["id"] for item in listed if not item["current"])
    bob_id = bob.get("/api/v1/me/sessions").json()[0]["id"]
    csrf = {"X-CSRF-Token": me["csrf_token"]}

    others = laptop.delete(f"/api/v1/me/sessions/{bob_id}", headers=csrf)
    problem(others, status=404, code="not-found")
    assert laptop.delete(f"/api/v1/me/sessions/{phone_id}", headers=csrf).status_code == 204
    assert phone.get("/api/v1/me").status_code == 401
    assert bob.get("/api/v1/me").status_code == 200


def test_the_html_form_signs_in_and_goes_back_to_next_but_never_off_site(
    browser: Browser, make_user: Any
) -> None:
    make_user("ada@example.com")
    web = browser()
    form = {"email": "ada@example.com", "password": PASSWORD}

    page = web.get("/auth/login", params={"next": "/markets"})
    local = web.post("/auth/login", data=form | {"next": "/markets?x=1"}, follow_redirects=False)
    offsite = web.post(
        "/auth/login", data=form | {"next": "//evil.example"}, follow_redirects=False
    )
    wrong = web.post("/auth/login", data=form | {"password": "nope"})

    assert page.status_code == 200 and 'name="next" value="/markets"' in page.text
    assert local.status_code == 303 and local.headers["location"] == "/markets?x=1"
    assert offsite.headers["location"] == "/"
    assert wrong.status_code == 401 and "Wrong email or password" in wrong.text


def test_a_sign_in_posted_from_another_site_is_refused(
    browser: Browser, make_user: Any, problem: Any
) -> None:
    make_user("ada@example.com")
    response = browser().post(
        "/auth/login",
        data={"email": "ada@example.com", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    problem(response, status=403, code="permission-denied")


def test_sessions_ended_over_30_days_ago_are_deleted_at_the_next_sign_in(
    browser: Browser, make_user: Any, session: Session
) -> None:
    make_user("ada@example.com")
    make_user("bob@example.com")
    sign_in(browser(), "ada@example.com")
    old = session.scalars(select(UserSession)).one()
    old.revoked_at = old.created_at - timedelta(days=31)
    session.commit()

    sign_in(browser(), "bob@example.com")

    # By owner, not id: SQLite may give bob's new session the id the purge just freed.
    session.expire_all()
    owners = session.scalars(
        select(User.email).join(UserSession, UserSession.user_id == User.id)
    ).all()
    assert owners == ["bob@example.com"]


def test_changing_the_password_ends_the_other_sessions_but_not_this_one(
    browser: Browser, make_user: Any, problem: Any
) -> None:
    make_user("ada@example.com")
    laptop, phone = browser(), browser()
    me = sign_in(laptop, "ada@example.com")
    sign_in(phone, "ada@example.com")
    csrf = {"X-CSRF-Token": me["csrf_token"]}

    wrong = laptop.put(
        "/api/v1/me/password",
        json={"current_password": "nope", "new_password": "another long password"},
        headers=csrf,
    )
    changed = laptop.put(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "another long password"},
        headers=csrf,
    )

    problem(wrong, status=422, code="invalid-input")
    assert changed.status_code == 204
    assert laptop.get("/api/v1/me").status_code == 200
    assert phone.get("/api/v1/me").status_code == 401
    assert sign_in(browser(), "ada@example.com", "another long password")
