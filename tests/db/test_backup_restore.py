"""Backups: back up, destroy the database, restore, and get every row back — on PostgreSQL
(pg_dump/pg_restore) and SQLite (online backup API), to a directory and to a local S3 server."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from edgewatch.archive import ticks
from edgewatch.archive.frames import content_checksum
from edgewatch.archive.store import LocalStore, ObjectStore, open_store
from edgewatch.config import Settings
from edgewatch.db.backup import (
    ChecksumMismatch,
    create_backup,
    list_backups,
    prune_backups,
    restore_backup,
)
from edgewatch.db.backup_cli import backup_command, backups_command, restore_command
from edgewatch.db.engine import create_db_engine
from edgewatch.errors import Conflict, InvalidInput
from edgewatch.jobs.pipelines import available_pipelines
from edgewatch.jobs.runner import run_pipeline
from edgewatch.models import Market, OddsTick
from edgewatch.models.backtest import BacktestRun, BacktestTrade
from history_seed import NOW, seed_markets, seed_run, seed_ticks
from s3_fixtures import s3_bucket, s3_endpoint, store_url

__all__ = ["s3_bucket", "s3_endpoint", "store_url"]
PG_DUMP = Path("/usr/lib/postgresql").glob("*/bin/pg_dump")
needs_pg_tools = pytest.mark.skipif(
    not any(PG_DUMP), reason="pg_dump/pg_restore not installed (scripts/test-services.sh does)"
)
TABLES = (Market, OddsTick, BacktestRun, BacktestTrade)


def _seed(url: str) -> None:
    engine = create_db_engine(url)
    with Session(engine) as session, session.begin():
        markets = seed_markets(session)
        seed_ticks(session, markets, start=NOW - timedelta(days=3), hours=40, step_minutes=7)
        seed_run(session, created_at=NOW - timedelta(days=1))
    engine.dispose()


def _fingerprint(url: str) -> tuple[dict[str, int], str]:
    """Row counts of the main tables and the content checksum of every tick."""
    engine = create_db_engine(url)
    with Session(engine) as session:
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in TABLES
        }
        frame = ticks.read_ticks(session, NOW - timedelta(days=30), NOW + timedelta(days=1))
    engine.dispose()
    return counts, content_checksum(frame, ticks.SPEC.keys)


def _destroy(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    admin = create_engine(
        parsed.set(drivername="postgresql+psycopg", database="postgres"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


@needs_pg_tools
@pytest.mark.both_backends
def test_backup_destroy_restore_gives_back_every_row(
    db_url: str, store_url: tuple[str, str | None]
) -> None:
    _seed(db_url)
    before = _fingerprint(db_url)
    assert before[0]["odds_ticks"] > 500
    store = open_store(store_url[0], endpoint_url=store_url[1])

    info = create_backup(db_url, store, now=NOW)
    assert store.exists(info.key) and store.exists(f"{info.key}.sha256")
    assert [b.key for b in list_backups(store)] == [info.key]
    assert info.revision is not None

    _destroy(db_url)
    result = restore_backup(store, info.key, db_url)

    assert _fingerprint(db_url) == before
    assert result.rows["odds_ticks"] == before[0]["odds_ticks"]


@needs_pg_tools
@pytest.mark.both_backends
def test_damaged_or_unverifiable_backups_are_refused(db_url: str, tmp_path: Path) -> None:
    _seed(db_url)
    before = _fingerprint(db_url)
    store = LocalStore(tmp_path / "backups")
    info = create_backup(db_url, store, now=NOW)
    path = tmp_path / "backups" / info.key
    original = path.read_bytes()

    path.write_bytes(original[:100] + bytes([original[100] ^ 1]) + original[101:])
    with pytest.raises(ChecksumMismatch, match="does not match"):
        restore_backup(store, info.key, db_url, force=True)

    path.write_bytes(original)
    (tmp_path / "backups" / f"{info.key}.sha256").unlink()
    with pytest.raises(ChecksumMismatch, match="missing"):
        restore_backup(store, info.key, db_url, force=True)
    assert _fingerprint(db_url) == before


@needs_pg_tools
@pytest.mark.both_backends
def test_restore_into_a_database_with_data_needs_force(db_url: str, tmp_path: Path) -> None:
    _seed(db_url)
    before = _fingerprint(db_url)
    store = LocalStore(tmp_path / "backups")
    info = create_backup(db_url, store, now=NOW)
    engine = create_db_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM odds_ticks WHERE bid > 0.5"))
    engine.dispose()
    with pytest.raises(Conflict, match="--force"):
        restore_backup(store, info.key, db_url)
    assert _fingerprint(db_url) != before

    restore_backup(store, info.key, db_url, force=True)
    assert _fingerprint(db_url) == before


def test_a_backup_of_the_other_dialect_is_refused(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(InvalidInput, match="not a sqlite backup"):
        restore_backup(store, "edgewatch-20260101T000000Z.dump", f"sqlite:///{tmp_path}/x.db")


def test_old_backups_are_pruned_but_the_newest_are_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'small.sqlite3'}"
    with closing(sqlite3.connect(tmp_path / "small.sqlite3")) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
    store: ObjectStore = LocalStore(tmp_path / "backups")
    for days in (40, 35, 20, 1, 0):
        create_backup(url, store, now=NOW - timedelta(days=days))
    oldest = list_backups(store)[0]
    assert prune_backups(store, now=NOW, keep_days=30, keep_min=4) == [oldest]
    pruned = prune_backups(store, now=NOW, keep_days=30, keep_min=2)
    assert [b.created_at for b in pruned] == [NOW - timedelta(days=35)]
    kept = [b.created_at for b in list_backups(store)]
    assert kept == [NOW - timedelta(days=d) for d in (20, 1, 0)]
    assert len(store.list()) == 9  # each backup is the file, its .sha256 and its .json
    assert prune_backups(store, now=NOW + timedelta(days=365), keep_days=30, keep_min=3) == []


def test_commands_back_up_list_and_restore(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = typer.Typer()
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
    app.command("backups")(backups_command)
    runner = CliRunner()
    url = settings.resolved_database_url
    _seed(url)
    before = _fingerprint(url)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("EDGEWATCH_DATABASE_URL", url)
    monkeypatch.setenv("EDGEWATCH_BACKUP_URL", str(tmp_path / "backups"))

    made = runner.invoke(app, ["backup"])
    assert made.exit_code == 0, made.output
    assert "0 old backups deleted" in made.output and "sha256" in made.output
    listed = runner.invoke(app, ["backups"])
    assert "1 backups in" in listed.output

    refused = runner.invoke(app, ["restore", "latest"])
    assert refused.exit_code == 2
    assert "already holds tables; pass --force" in refused.output

    _destroy(url)
    restored = runner.invoke(app, ["restore", "latest"])
    assert restored.exit_code == 0, restored.output
    assert f"{before[0]['odds_ticks']} odds_ticks" in restored.output
    assert _fingerprint(url) == before

    missing = runner.invoke(app, ["restore", str(tmp_path / "nope.sqlite3")])
    assert missing.exit_code == 2 and "Traceback" not in missing.output


def test_backup_pipeline_writes_a_verified_backup(settings: Settings, tmp_path: Path) -> None:
    settings = settings.model_copy(update={"backup_url": str(tmp_path / "backups")})
    engine = create_db_engine(settings.resolved_database_url)
    spec = available_pipelines(settings)["backup"]
    run = run_pipeline("backup", spec.step, settings=settings, engine=engine)
    engine.dispose()
    assert run.status == "succeeded", run.error
    backups = list_backups(LocalStore(tmp_path / "backups"))
    assert len(backups) == 1 and run.details["sha256"] == backups[0].sha256
