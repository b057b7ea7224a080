"""``edgewatch retention run``, ``edgewatch archive list|verify|restore`` and the pipeline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from edgewatch.archive import ticks
from edgewatch.archive.cli import app as archive_app
from edgewatch.archive.frames import content_checksum
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.jobs.pipelines import available_pipelines
from edgewatch.jobs.runner import run_pipeline
from edgewatch.models import OddsTick
from edgewatch.observability.metrics import REGISTRY
from edgewatch.retention.cli import app as retention_app
from edgewatch.retention.service import cutoff
from history_seed import seed_markets, seed_ticks

runner = CliRunner()
# The two sub-apps as `edgewatch` mounts them (importing the whole CLI loads every capability).
app = typer.Typer()
app.add_typer(archive_app, name="archive")
app.add_typer(retention_app, name="retention")


def _count(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(OddsTick)) or 0


def test_commands_archive_list_verify_and_restore_ticks(
    settings: Settings,
    session_factory: sessionmaker[Session],
    store_url: tuple[str, str | None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, endpoint = store_url
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("EDGEWATCH_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("EDGEWATCH_ARCHIVE_URL", url)
    if endpoint:
        monkeypatch.setenv("EDGEWATCH_ARCHIVE_ENDPOINT_URL", endpoint)
    start = cutoff(utcnow(), 90) - timedelta(days=2)
    with session_factory.begin() as session:
        stored = seed_ticks(session, seed_markets(session), start=start, hours=30)
    with session_factory() as session:
        checksum = content_checksum(ticks.read_ticks(session, start, utcnow()), ticks.SPEC.keys)

    dry = runner.invoke(app, ["retention", "run", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"dry run: {stored} ticks over 2 days" in dry.output
    assert _count(session_factory) == stored

    result = runner.invoke(app, ["retention", "run"])
    assert result.exit_code == 0, result.output
    assert f"retention: {stored} ticks deleted ({stored} archived over 2 days" in result.output
    assert _count(session_factory) == 0

    listed = runner.invoke(app, ["archive", "list", "--kind", "ticks"])
    assert listed.exit_code == 0, listed.output
    assert f"2 archived days, {stored} rows" in listed.output
    assert start.date().isoformat() in listed.output

    verified = runner.invoke(app, ["archive", "verify"])
    assert verified.exit_code == 0, verified.output
    assert f"verified 2 archived days, {stored} rows: all checksums match" in verified.output

    restored = runner.invoke(
        app, ["archive", "restore", "--from", start.isoformat(), "--to", utcnow().isoformat()]
    )
    assert restored.exit_code == 0, restored.output
    assert f"{stored} of {stored} ticks stored" in restored.output
    with session_factory() as session:
        frame = ticks.read_ticks(session, start, utcnow())
    assert content_checksum(frame, ticks.SPEC.keys) == checksum


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["archive", "restore", "--from", "yesterday", "--to", "2026-01-01"], "--from/--to"),
        (["archive", "restore", "--from", "2026-02-01", "--to", "2026-01-01"], "before --to"),
        (["archive", "list", "--kind", "orders"], "--kind must be one of ticks, backtests"),
    ],
)
def test_bad_arguments_are_one_clear_line(
    args: list[str], message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EDGEWATCH_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_an_unreachable_archive_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EDGEWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EDGEWATCH_ARCHIVE_URL", "ftp://example.org/archive")
    result = runner.invoke(app, ["archive", "list"])
    assert result.exit_code == 2
    assert "unsupported store" in result.output


def test_retention_pipeline_runs_and_records_what_it_moved(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"archive_url": str(tmp_path / "archive")})
    with session_factory.begin() as session:
        stored = seed_ticks(
            session, seed_markets(session), start=cutoff(utcnow(), 90) - timedelta(hours=5), hours=3
        )
    spec = available_pipelines(settings)["retention"]
    run = run_pipeline("retention", spec.step, settings=settings, engine=engine)
    assert run.status == "succeeded", run.error
    assert (run.rows_in, run.rows_stored) == (stored, stored)
    assert run.details["ticks_deleted"] == stored
    assert _count(session_factory) == 0
    archived = run.details["archive_bytes"]["ticks"]
    assert archived > 0
    assert REGISTRY.get_sample_value("edgewatch_archive_size_bytes", {"kind": "ticks"}) == archived
