"""The in-process memory of authenticated API keys: fast for a busy key, never wrong for long."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, text, update

from edgewatch.accounts import api_keys
from edgewatch.accounts.key_cache import KEYS, KeyCache
from edgewatch.accounts.principal import Principal
from edgewatch.clock import utcnow
from edgewatch.models import ApiKey

ClientAs = Callable[..., Any]


@pytest.fixture
def key_statements(client: Any) -> Iterator[list[str]]:
    """The SQL statements the running app sends that read or write ``api_keys``."""
    engine: Engine = client.app.state.engine
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "api_keys" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _new_key(client_as: ClientAs, app: Any) -> tuple[Any, dict[str, Any]]:
    from .conftest import TestClient

    created = client_as("analyst").post("/api/v1/me/keys", json={"name": "bot"}).json()
    return TestClient(app, headers={"X-API-Key": created["key"]}), created


def test_a_busy_key_is_authenticated_from_the_database_once(
    client_as: ClientAs, app: Any, key_statements: list[str]
) -> None:
    keyed, _ = _new_key(client_as, app)
    key_statements.clear()
    generation = KEYS.generation

    answers = [keyed.get("/api/v1/markets").status_code for _ in range(5)]

    assert answers == [200] * 5
    # One lookup (and the first-use touch of last_used_at), then nothing: the rest were remembered.
    assert len([s for s in key_statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert KEYS.generation == generation, "bookkeeping on use must not forget every key"


def test_a_change_committed_here_takes_effect_at_once(
    client_as: ClientAs, app: Any, problem: Any
) -> None:
    from .conftest import TestClient

    owner = client_as("viewer")
    created = owner.post("/api/v1/me/keys", json={"name": "old"}).json()
    keyed = TestClient(app, headers={"X-API-Key": created["key"]})
    assert keyed.get("/api/v1/markets").status_code == 200

    assert owner.delete(f"/api/v1/me/keys/{created['id']}").status_code == 204

    problem(keyed.get("/api/v1/markets"), status=401, code="not-authenticated")


def test_a_bulk_update_of_keys_also_forgets(
    client_as: ClientAs, app: Any, session: Any, problem: Any
) -> None:
    keyed, created = _new_key(client_as, app)
    assert keyed.get("/api/v1/markets").status_code == 200

    session.execute(update(ApiKey).where(ApiKey.id == created["id"]).values(revoked_at=utcnow()))
    session.commit()

    problem(keyed.get("/api/v1/markets"), status=401, code="not-authenticated")


def test_a_change_made_by_another_process_takes_effect_within_the_memory_time(
    client_as: ClientAs, app: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch, problem: Any
) -> None:
    monkeypatch.setattr(KEYS, "seconds", 0.5)
    keyed, created = _new_key(client_as, app)
    assert keyed.get("/api/v1/markets").status_code == 200

    # Plain SQL on its own connection, as the CLI or another API worker would commit it: no ORM
    # hook in this process sees it.
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE api_keys SET revoked_at = :now WHERE id = :id"),
            {"now": utcnow(), "id": created["id"]},
        )

    assert keyed.get("/api/v1/markets").status_code == 200  # still remembered
    time.sleep(0.6)
    problem(keyed.get("/api/v1/markets"), status=401, code="not-authenticated")


def _principal() -> Principal:
    return Principal(
        user_id=1, role="viewer", scopes=frozenset({"read"}), actor="u1", via="api_key"
    )


def test_an_expired_key_is_refused_even_while_remembered() -> None:
    cache = KeyCache(seconds=60)
    now = utcnow()
    digest = api_keys.key_hash("ew_example_secret")
    cache.remember(digest, _principal(), key_expires_at=now + timedelta(seconds=1), generation=0)

    assert cache.get(digest, now=now) == _principal()
    assert cache.get(digest, now=now + timedelta(seconds=1)) is None


def test_a_lookup_that_raced_with_a_change_is_not_remembered() -> None:
    cache = KeyCache(seconds=60)
    generation = cache.generation
    cache.clear()  # a change committed while the lookup was in the database

    cache.remember("digest", _principal(), key_expires_at=None, generation=generation)

    assert cache.get("digest", now=utcnow()) is None


def test_the_memory_is_bounded() -> None:
    cache = KeyCache(seconds=60, max_entries=3)
    for index in range(4):
        cache.remember(f"d{index}", _principal(), key_expires_at=None, generation=0)

    assert cache.get("d3", now=utcnow()) is not None
    assert sum(cache.get(f"d{i}", now=utcnow()) is not None for i in range(4)) <= 3
