"""API keys: made by a user for themselves, shown once, stored hashed, scoped, expirable,
revocable, and seen only by their owner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from edgewatch.accounts import api_keys
from edgewatch.clock import utcnow
from edgewatch.models import ApiKey, AuditEntry, User
from edgewatch.observability.metrics import AUTH_FAILURES

ClientAs = Callable[..., Any]


def _failures(reason: str) -> float:
    return AUTH_FAILURES.labels(reason=reason)._value.get()


def test_a_new_key_is_shown_once_and_stored_only_as_a_hash(
    client_as: ClientAs, session: Session
) -> None:
    analyst = client_as("analyst")
    created = analyst.post("/api/v1/me/keys", json={"name": "grafana", "scopes": ["read"]})

    assert created.status_code == 201, created.text
    body = created.json()
    key = body["key"]
    assert key.startswith(body["prefix"] + "_") and len(key) > 40
    stored = session.get(ApiKey, body["id"])
    assert stored is not None and stored.key_hash == api_keys.key_hash(key)
    assert key not in str(
        [row.__dict__ for row in session.scalars(select(ApiKey))]
    )  # nowhere in clear
    listed = analyst.get("/api/v1/me/keys").json()
    assert body["id"] in [item["id"] for item in listed]
    assert all("key" not in item and "key_hash" not in item for item in listed)
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "api_key.create")).all()
    assert [entry.subject_id for entry in audit][-1] == str(body["id"])


@pytest.mark.parametrize("header", ["X-API-Key", "Authorization"])
def test_a_key_works_in_either_header_and_records_its_last_use(
    header: str, client_as: ClientAs, app: Any, session: Session
) -> None:
    from .conftest import TestClient

    owner = client_as("viewer")
    body = owner.post("/api/v1/me/keys", json={"name": "cli", "scopes": ["read", "account"]}).json()
    value = body["key"] if header == "X-API-Key" else f"Bearer {body['key']}"

    response = TestClient(app, headers={header: value}).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["authenticated_by"] == "api_key"
    assert response.json()["scopes"] == ["account", "read"]
    session.expire_all()
    assert session.get(ApiKey, body["id"]).last_used_at is not None  # type: ignore[union-attr]


def test_a_key_cannot_carry_more_than_the_role(client_as: ClientAs, problem: Any) -> None:
    viewer = client_as("viewer")

    wider = viewer.post("/api/v1/me/keys", json={"name": "x", "scopes": ["read", "backtests:run"]})
    unknown = viewer.post("/api/v1/me/keys", json={"name": "x", "scopes": ["root"]})

    problem(wider, status=403, code="permission-denied")
    assert "backtests:run" in wider.json()["detail"]
    problem(unknown, status=422, code="validation-error")


def test_demoting_the_owner_shrinks_the_keys_at_once(
    client_as: ClientAs, app: Any, session: Session
) -> None:
    from .conftest import TestClient

    analyst = client_as("analyst")
    key = analyst.post(
        "/api/v1/me/keys", json={"name": "runner", "scopes": ["account", "backtests:run"]}
    ).json()["key"]
    keyed = TestClient(app, headers={"X-API-Key": key})
    assert keyed.post("/api/v1/backtests", json={}).status_code == 422  # allowed, bad body
    user_id = keyed.get("/api/v1/me").json()["id"]

    user = session.get(User, user_id)
    assert user is not None
    user.role = "viewer"
    session.commit()

    assert keyed.post("/api/v1/backtests", json={}).status_code == 403
    assert keyed.get("/api/v1/me").json()["scopes"] == ["account"]


def test_revoked_and_expired_keys_are_refused_with_a_reason(
    client_as: ClientAs, app: Any, session: Session, problem: Any
) -> None:
    from .conftest import TestClient

    owner = client_as("viewer")
    revoked = owner.post("/api/v1/me/keys", json={"name": "old"}).json()
    expiring = owner.post(
        "/api/v1/me/keys",
        json={"name": "short", "expires_at": (utcnow() + timedelta(hours=1)).isoformat()},
    ).json()
    assert owner.delete(f"/api/v1/me/keys/{revoked['id']}").status_code == 204
    row = session.get(ApiKey, expiring["id"])
    assert row is not None
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    before = _failures("revoked_api_key"), _failures("expired_api_key")

    gone = TestClient(app, headers={"X-API-Key": revoked["key"]}).get("/api/v1/markets")
    late = TestClient(app, headers={"X-API-Key": expiring["key"]}).get("/api/v1/markets")
    forged = TestClient(app, headers={"X-API-Key": revoked["key"][:-4] + "abcd"}).get("/api/v1/me")

    assert "revoked" in problem(gone, status=401, code="not-authenticated")["detail"]
    assert "expired" in problem(late, status=401, code="not-authenticated")["detail"]
    problem(forged, status=401, code="not-authenticated")
    assert gone.headers["www-authenticate"].startswith("Bearer")
    assert (_failures("revoked_api_key"), _failures("expired_api_key")) == (
        before[0] + 1,
        before[1] + 1,
    )


def test_a_key_in_the_past_is_refused(client_as: ClientAs, problem: Any) -> None:
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    response = client_as("viewer").post("/api/v1/me/keys", json={"name": "x", "expires_at": past})
    problem(response, status=422, code="invalid-input")


def test_users_see_and_revoke_only_their_own_keys(client_as: ClientAs, problem: Any) -> None:
    alice, bob = client_as("analyst"), client_as("analyst")
    alices = alice.post("/api/v1/me/keys", json={"name": "alice"}).json()

    assert alices["id"] not in [key["id"] for key in bob.get("/api/v1/me/keys").json()]
    problem(bob.delete(f"/api/v1/me/keys/{alices['id']}"), status=404, code="not-found")
    assert alice.delete(f"/api/v1/me/keys/{alices['id']}").status_code == 204


def test_a_key_cannot_mint_a_key_wider_than_itself(
    client_as: ClientAs, app: Any, problem: Any
) -> None:
    from .conftest import TestClient

    narrow = client_as("analyst").post(
        "/api/v1/me/keys", json={"name": "narrow", "scopes": ["account", "read"]}
    )
    keyed = TestClient(app, headers={"X-API-Key": narrow.json()["key"]})

    wider = keyed.post("/api/v1/me/keys", json={"name": "x", "scopes": ["backtests:run"]})
    same = keyed.post("/api/v1/me/keys", json={"name": "y", "scopes": ["read"]})

    assert "wider than itself" in problem(wider, status=403, code="permission-denied")["detail"]
    assert same.status_code == 201


def test_a_password_cannot_be_set_with_an_api_key(client_as: ClientAs, problem: Any) -> None:
    response = client_as("viewer").put(
        "/api/v1/me/password", json={"new_password": "a brand new long password"}
    )
    problem(response, status=403, code="permission-denied")
