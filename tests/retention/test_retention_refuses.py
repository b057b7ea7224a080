"""Retention deletes only what the archive, read back from the store, proves it holds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.archive import ticks
from edgewatch.archive.manifest import manifest_key
from edgewatch.archive.partition import ArchiveMismatch
from edgewatch.archive.store import LocalStore, ObjectStore, open_store
from edgewatch.errors import TemporaryError
from edgewatch.models import OddsTick
from edgewatch.retention.delete import delete_ticks
from edgewatch.retention.service import cutoff, run_retention
from history_seed import NOW, seed_markets, seed_run, seed_ticks

LIMIT = cutoff(NOW, 90)


class ForgetfulStore(LocalStore):
    """A store that acknowledges Parquet writes and loses them: a bucket with a broken
    lifecycle rule, a full disk that lies. The manifest still arrives."""

    def put_bytes(self, key: str, data: bytes) -> None:
        if key.endswith(".parquet"):
            return
        super().put_bytes(key, data)


def _count(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(OddsTick)) or 0


def _seed_old(session_factory: sessionmaker[Session]) -> int:
    with session_factory.begin() as session:
        return seed_ticks(session, seed_markets(session), start=LIMIT - timedelta(hours=6), hours=4)


def _retain(engine: Engine, store: ObjectStore) -> None:
    run_retention(engine, store, now=NOW, tick_retention_days=90, backtest_retention_days=180)


def test_nothing_is_deleted_when_the_archive_does_not_hold_the_rows(
    engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    stored = _seed_old(session_factory)
    with pytest.raises(Exception, match=r"no object|does not match|no odds_ticks"):
        _retain(engine, ForgetfulStore(tmp_path / "forgetful"))
    assert _count(session_factory) == stored


def test_nothing_is_deleted_when_the_archived_file_is_damaged(
    engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    store = LocalStore(tmp_path / "archive")
    stored = _seed_old(session_factory)
    day = (LIMIT - timedelta(hours=6)).date()
    _retain(engine, store)
    assert _count(session_factory) == 0
    # Put the rows back, damage the archived file, and run again: the merge reads the damaged
    # archive, refuses, and the rows stay in the database.
    with session_factory.begin() as session:
        markets = list(session.scalars(select(ticks.Market)))
        seed_ticks(session, markets, start=LIMIT - timedelta(hours=6), hours=4)
    key = manifest_key(ticks.KIND, day).replace("manifest.json", "odds_ticks.parquet")
    parquet = tmp_path / "archive" / key
    parquet.write_bytes(parquet.read_bytes()[:-40] + b"\0" * 40)
    with pytest.raises(ArchiveMismatch, match="SHA-256 does not match"):
        _retain(engine, store)
    assert _count(session_factory) == stored


def test_nothing_is_deleted_when_the_store_is_unreachable(
    engine: Engine, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    stored = _seed_old(session_factory)
    # A closed port: the connection is refused at once.
    store = open_store("s3://edgewatch/archive", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(TemporaryError, match="s3://edgewatch/archive"):
        _retain(engine, store)
    assert _count(session_factory) == stored


def test_nothing_is_deleted_when_the_bucket_is_missing(
    engine: Engine, session_factory: sessionmaker[Session], s3_endpoint: str, s3_bucket: str
) -> None:
    stored = _seed_old(session_factory)
    store = open_store(f"s3://{s3_bucket}-missing/x", endpoint_url=s3_endpoint)
    with pytest.raises(Exception, match="no such bucket"):
        _retain(engine, store)
    assert _count(session_factory) == stored


@pytest.mark.both_backends
def test_deletes_are_by_key_so_rows_not_in_the_batch_survive(
    session_factory: sessionmaker[Session], engine: Engine
) -> None:
    stored = _seed_old(session_factory)
    with session_factory() as session:
        frame = ticks.read_ticks(session, LIMIT - timedelta(days=1), LIMIT)
    archived = frame.filter(pl.int_range(pl.len()) % 2 == 0)
    batches: list[int] = []
    with engine.connect() as connection:
        deleted = delete_ticks(connection, archived, batch_rows=3, on_batch=batches.append)
    assert deleted == archived.height
    assert max(batches) == 3 and sum(batches) == archived.height
    assert _count(session_factory) == stored - archived.height
    with session_factory() as session:
        left = ticks.read_ticks(session, LIMIT - timedelta(days=1), LIMIT)
    assert left.join(archived, on=["venue_market_id", "tick_ts"], how="semi").is_empty()


def test_a_dry_run_archives_and_deletes_nothing(
    engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    stored = _seed_old(session_factory)
    with session_factory.begin() as session:
        seed_run(session, created_at=cutoff(NOW, 180) - timedelta(days=2))
    store = LocalStore(tmp_path / "archive")
    summary = run_retention(
        engine, store, now=NOW, tick_retention_days=90, backtest_retention_days=180, dry_run=True
    )
    assert (summary.ticks_archived, summary.runs_archived) == (stored, 1)
    assert (summary.ticks_deleted, summary.runs_deleted) == (0, 0)
    assert "dry run" in summary.line()
    assert store.list() == []
    assert _count(session_factory) == stored


def test_recent_rows_are_left_alone(
    engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with session_factory.begin() as session:
        stored = seed_ticks(session, seed_markets(session), start=LIMIT, hours=5)
        seed_run(session, created_at=cutoff(NOW, 180))
    store = LocalStore(tmp_path / "archive")
    summary = run_retention(
        engine, store, now=NOW, tick_retention_days=90, backtest_retention_days=180
    )
    assert (summary.ticks_deleted, summary.runs_deleted, summary.tick_days) == (0, 0, 0)
    assert store.list() == []
    assert _count(session_factory) == stored
