"""Retention → archive → restore round trip, against a directory and a local S3 server.

The proof is a checksum of the rows themselves: the ticks (and backtest runs) read from the
database before retention, and read again after a restore, must be identical.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.archive import backtests, ticks
from edgewatch.archive.frames import content_checksum
from edgewatch.archive.service import manifests_in, restore_range
from edgewatch.archive.store import ObjectStore, open_store
from edgewatch.models import BacktestRun, OddsTick
from edgewatch.retention.service import cutoff, run_retention
from history_seed import NOW, seed_markets, seed_run, seed_ticks

pytestmark = pytest.mark.both_backends


@pytest.fixture
def store(store_url: tuple[str, str | None]) -> ObjectStore:
    url, endpoint = store_url
    return open_store(url, endpoint_url=endpoint)


def _ticks_checksum(session: Session, start, end) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    frame = ticks.read_ticks(session, start, end)
    return frame.height, content_checksum(frame, ticks.SPEC.keys)


def _retain(engine: Engine, store: ObjectStore, **kwargs: object):  # type: ignore[no-untyped-def]
    return run_retention(
        engine,
        store,
        now=NOW,
        tick_retention_days=90,
        backtest_retention_days=180,
        **kwargs,  # type: ignore[arg-type]
    )


def test_ticks_removed_by_retention_are_archived_and_restored_identically(
    engine: Engine, session_factory: sessionmaker[Session], store: ObjectStore
) -> None:
    limit = cutoff(NOW, 90)
    old_start = limit - timedelta(days=3, hours=5)
    with session_factory.begin() as session:
        markets = seed_markets(session)
        seed_ticks(session, markets, start=old_start, hours=80)  # 3 days 5 h before, 3 h after
        seed_ticks(session, markets, start=NOW - timedelta(days=2), hours=24)
    with session_factory() as session:
        old_rows, old_sum = _ticks_checksum(session, old_start, limit)
        recent_rows, recent_sum = _ticks_checksum(session, limit, NOW)
    assert old_rows > 0 and recent_rows > 0

    summary = _retain(engine, store, batch_rows=50)

    assert summary.ticks_deleted == old_rows == summary.ticks_archived
    assert summary.tick_days == 4
    with session_factory() as session:
        assert session.scalar(select(func.count()).where(OddsTick.tick_ts < limit)) == 0
        assert _ticks_checksum(session, limit, NOW) == (recent_rows, recent_sum)
    manifests = manifests_in(store, ticks.KIND, None, None)
    assert sum(m.total_rows for m in manifests) == old_rows
    assert all(f.sha256 and f.content_sha256 for m in manifests for f in m.files)

    restored = restore_range(session_factory, store, start=old_start, end=limit)

    assert restored.ticks_stored == old_rows and restored.ticks_unknown_market == 0
    with session_factory() as session:
        assert _ticks_checksum(session, old_start, limit) == (old_rows, old_sum)
        assert _ticks_checksum(session, limit, NOW) == (recent_rows, recent_sum)


def test_retention_after_a_restore_archives_nothing_twice(
    engine: Engine, session_factory: sessionmaker[Session], store: ObjectStore
) -> None:
    limit = cutoff(NOW, 90)
    with session_factory.begin() as session:
        seed_ticks(session, seed_markets(session), start=limit - timedelta(hours=30), hours=20)
    _retain(engine, store)
    before = {m.day: m.files for m in manifests_in(store, ticks.KIND, None, None)}
    restore_range(session_factory, store, start=limit - timedelta(days=5), end=limit)
    again = _retain(engine, store)
    after = {m.day: m.files for m in manifests_in(store, ticks.KIND, None, None)}
    assert again.ticks_deleted == again.ticks_archived > 0
    assert after == before


def test_restore_brings_back_only_the_asked_range(
    engine: Engine, session_factory: sessionmaker[Session], store: ObjectStore
) -> None:
    limit = cutoff(NOW, 90)
    start = limit - timedelta(days=2)
    with session_factory.begin() as session:
        seed_ticks(session, seed_markets(session), start=start, hours=48)
    with session_factory() as session:
        window = (start + timedelta(hours=10), start + timedelta(hours=13))
        rows, checksum = _ticks_checksum(session, *window)
    _retain(engine, store)
    summary = restore_range(session_factory, store, start=window[0], end=window[1])
    with session_factory() as session:
        assert summary.ticks_stored == rows
        assert session.scalar(select(func.count()).select_from(OddsTick)) == rows
        assert _ticks_checksum(session, *window) == (rows, checksum)


def test_old_backtest_runs_are_archived_deleted_and_restored_identically(
    engine: Engine, session_factory: sessionmaker[Session], store: ObjectStore
) -> None:
    old = cutoff(NOW, 180) - timedelta(days=1, hours=-3)
    with session_factory.begin() as session:
        seed_markets(session)
        old_ids = [seed_run(session, created_at=old + timedelta(hours=n)).id for n in range(3)]
        running = seed_run(session, created_at=old, status="running").id
        recent = seed_run(session, created_at=NOW - timedelta(days=3)).id

    def snapshot() -> list[str]:
        with session_factory() as session:
            tables = backtests.read_runs(session, old - timedelta(days=1), old + timedelta(days=1))
        return [content_checksum(frame, spec.keys) for spec, frame in tables]

    before = snapshot()
    summary = _retain(engine, store)

    assert summary.runs_deleted == summary.runs_archived == 3
    with session_factory() as session:
        remaining = set(session.scalars(select(BacktestRun.id)))
    assert remaining == {running, recent}

    restored = restore_range(
        session_factory, store, start=old - timedelta(days=1), end=old + timedelta(days=1)
    )
    assert restored.runs_stored == 3
    assert snapshot() == before
    with session_factory() as session:
        assert set(session.scalars(select(BacktestRun.id))) == {*old_ids, running, recent}
