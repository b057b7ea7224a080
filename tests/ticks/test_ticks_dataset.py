"""Import and export of dataset directories: idempotent, tolerant of bad rows, resumable after
SIGKILL, and round-tripping exactly."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from edgewatch.db import migrate
from edgewatch.db.engine import create_db_engine
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.errors import FeeUnknown
from edgewatch.models import Market, MarketLink, OddsTick, RejectedRecord
from edgewatch.strategies.base import TICK_SCHEMA
from edgewatch.ticks.cli import app
from edgewatch.ticks.dataset import MAX_QUARANTINED, open_dataset, parse_time, validate_ticks
from edgewatch.ticks.exporter import export_dataset
from edgewatch.ticks.importer import import_dataset
from edgewatch.ticks.ingest import ingest_window
from edgewatch.venues.fees import market_fee
from edgewatch.venues.sim.venue import SimVenue
from edgewatch.venues.sim.world import SimConfig, SimWorld

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MARKETS = """venue,market_id,title,close_time,status,resolution,resolved_at,fee_multiplier,fee_rate
kalshi,K1,"Rain, in Paris?",2026-07-01T00:00:00+00:00,open,,,,
polymarket,P1,Rain in Paris?,1782864000,resolved,yes,2026-06-30T12:00:00Z,,0.02
polymarket,P2,No fee rate known,2026-07-01T00:00:00+02:00,open,,,,
other,X1,Bad status,2026-07-01T00:00:00+00:00,opened,,,,
"""
LINKS = """venue_a,market_a,venue_b,market_b,relation,status
kalshi,K1,polymarket,P1,same,confirmed
kalshi,K1,polymarket,NOPE,same,confirmed
kalshi,K1,polymarket,P2,sideways,proposed
"""


def write_dataset(directory: Path, ticks: str, *, links: str | None = LINKS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "markets.csv").write_text(MARKETS)
    (directory / "ticks.csv").write_text(ticks)
    if links is not None:
        (directory / "links.csv").write_text(links)
    return directory


GOOD_TICKS = """venue,market_id,ts,bid,ask,last,volume
kalshi,K1,2026-06-01T12:00:00+00:00,0.40,0.45,0.42,10
kalshi,K1,1780315260,0.41,0.46,,
polymarket,P1,2026-06-01T14:00:00.250+02:00,0.39,0.44,0.4,5
polymarket,P2,2026-06-01T12:03:00Z,,,0.5,
"""


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def snapshot(factory: sessionmaker[Session]) -> dict[str, object]:
    """Every market, tick and link by venue ids, sorted, with a checksum of the tick rows."""
    with factory() as session:
        keys = {m.id: (m.venue, m.venue_market_id) for m in session.scalars(select(Market))}
        markets = sorted(
            (
                m.venue,
                m.venue_market_id,
                m.title,
                m.close_time,
                m.status,
                m.resolution,
                m.resolved_at,
                m.fee_schedule,
                None if m.fee_multiplier is None else float(m.fee_multiplier),
                None if m.fee_rate is None else float(m.fee_rate),
                m.last_tick_at,
            )
            for m in session.scalars(select(Market))
        )
        columns = [getattr(OddsTick, name) for name in TICK_SCHEMA]
        ticks = sorted(
            (*keys[market_id], *values)
            for market_id, *values in session.execute(select(*columns)).tuples()
        )
        links = sorted(
            (*keys[k.market_a_id], *keys[k.market_b_id], k.relation, k.status, k.confidence)
            for k in session.scalars(select(MarketLink))
        )
    checksum = hashlib.sha256(repr(ticks).encode()).hexdigest()
    return {"markets": markets, "ticks_sha256": checksum, "ticks": len(ticks), "links": links}


def fresh_sqlite(path: Path) -> sessionmaker[Session]:
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    return make_session_factory(create_db_engine(url, pool_size=1))


@pytest.mark.both_backends
def test_importing_the_same_dataset_twice_stores_each_tick_once(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    dataset = open_dataset(write_dataset(tmp_path / "data", GOOD_TICKS, links=LINKS))
    first = import_dataset(session_factory, dataset, batch_rows=2)
    before = snapshot(session_factory)
    second = import_dataset(session_factory, dataset, batch_rows=3)
    assert (first.rows_read, first.stored) == (4, 4)
    assert (second.rows_read, second.stored, second.links_added) == (4, 0, 0)
    assert snapshot(session_factory) == before
    with session_factory() as session:
        assert count(session, OddsTick) == 4
        link = session.scalars(select(MarketLink)).one()
        assert (link.source, link.relation, link.status) == ("import", "same", "confirmed")
        k1 = session.scalars(select(Market).where(Market.venue_market_id == "K1")).one()
        assert k1.last_tick_at == NOW + timedelta(minutes=1)
        assert (k1.fee_schedule, k1.fee_multiplier, k1.title) == ("kalshi", 1, "Rain, in Paris?")
        p1 = session.scalars(select(Market).where(Market.venue_market_id == "P1")).one()
        assert (p1.fee_schedule, float(p1.fee_rate or 0), p1.resolution) == (
            "polymarket",
            0.02,
            "yes",
        )
        assert p1.close_time == datetime(2026, 7, 1, tzinfo=UTC)
        p2 = session.scalars(select(Market).where(Market.venue_market_id == "P2")).one()
        assert (p2.fee_schedule, p2.fee_rate) == ("polymarket", None)
        assert p2.close_time == datetime(2026, 6, 30, 22, tzinfo=UTC)


def test_imported_markets_price_fees_like_ingested_ones_and_fail_closed_without_a_rate(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    import_dataset(session_factory, open_dataset(write_dataset(tmp_path / "d", GOOD_TICKS)))
    with session_factory() as session:
        by_id = {m.venue_market_id: m for m in session.scalars(select(Market))}

    def fee(market_id: str) -> Decimal:
        m = by_id[market_id]
        return market_fee(
            fee_schedule=m.fee_schedule,
            fee_multiplier=m.fee_multiplier,
            fee_rate=m.fee_rate,
            price=Decimal("0.5"),
            contracts=100,
        )

    assert fee("K1") == Decimal("1.75")
    assert fee("P1") == Decimal("0.50000")
    with pytest.raises(FeeUnknown):
        fee("P2")


@pytest.mark.both_backends
def test_bad_rows_are_rejected_with_reasons_while_good_rows_land(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    bad = (
        "kalshi,K1,yesterday,0.4,0.45,,\n"
        "kalshi,K1,2026-06-01T12:10:00,0.4,0.45,,\n"
        # Valid ISO 8601, but in year 0 and year 10000 once in UTC: beyond Python's datetime.
        "kalshi,K1,0001-01-01T00:00:00+14:00,0.4,0.45,,\n"
        "kalshi,K1,9999-12-31T23:59:59-14:00,0.4,0.45,,\n"
        "kalshi,K1,2026-06-01T12:11:00+00:00,NaN,0.45,,\n"
        "kalshi,K1,2026-06-01T12:12:00+00:00,0.4,1.5,,\n"
        "kalshi,K1,2026-06-01T12:13:00+00:00,0.6,0.5,,\n"
        "kalshi,K1,2026-06-01T12:14:00+00:00,,,,\n"
        "kalshi,K1,2026-06-01T12:15:00+00:00,cheap,0.5,,\n"
        "kalshi,K1,2026-06-01T12:16:00+00:00,0.4,0.5,,-3\n"
        "kalshi,K1,2026-06-01T12:16:30+00:00,0.4,0.5,,inf\n"
        "kalshi,NOPE,2026-06-01T12:17:00+00:00,0.4,0.5,,\n"
        "other,X1,2026-06-01T12:18:00+00:00,0.4,0.5,,\n"
        ",K1,2026-06-01T12:19:00+00:00,0.4,0.5,,\n"
    )
    dataset = open_dataset(write_dataset(tmp_path / "data", GOOD_TICKS + bad))
    summary = import_dataset(session_factory, dataset, batch_rows=5)
    assert (summary.rows_read, summary.stored, summary.ticks_rejected) == (18, 4, 14)
    assert summary.rejected == {
        "tick:bad_time": 4,
        "tick:not_finite": 1,
        "tick:out_of_range": 1,
        "tick:crossed_quote": 1,
        "tick:empty_quote": 1,
        "tick:wrong_type": 1,
        "tick:negative_size": 2,
        "tick:unknown_market": 2,
        "tick:missing_field": 1,
        "market:bad_status": 1,
        "link:unknown_market": 1,
        "link:bad_relation": 1,
    }
    assert "18 tick rows read, 4 stored, 0 already present, 17 rejected" in summary.line()
    with session_factory() as session:
        assert count(session, OddsTick) == 4
        rows = session.scalars(select(RejectedRecord).where(RejectedRecord.kind == "tick")).all()
        crossed = next(r for r in rows if r.reason == "crossed_quote")
        assert json.loads(crossed.payload)["bid"] == "0.6"
        assert crossed.venue == "kalshi"


def test_a_link_within_one_venue_is_rejected(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    links = (
        "venue_a,market_a,venue_b,market_b,relation,status\n"
        "kalshi,K1,kalshi,K1,same,confirmed\n"
        "polymarket,P1,polymarket,P2,complement,proposed\n"
        "kalshi,K1,polymarket,P1,same,confirmed\n"
    )
    dataset = open_dataset(write_dataset(tmp_path / "data", GOOD_TICKS, links=links))
    summary = import_dataset(session_factory, dataset, batch_rows=50)
    assert summary.rejected["link:same_venue"] == 2
    assert "1 of 3 links added" in summary.line()


def test_epoch_seconds_and_iso_times_parse_to_the_same_instant() -> None:
    instant = datetime(2026, 6, 1, 12, 0, 0, 500000, tzinfo=UTC)
    texts = [
        "2026-06-01T12:00:00.5+00:00",
        "2026-06-01T14:00:00.500000+02:00",
        "2026-06-01 12:00:00.5Z",
        "2026-06-01T07:30:00.5-0430",
        str(instant.timestamp()),
    ]
    raw = pl.DataFrame(
        {"venue": "v", "market_id": "m", "ts": texts, "bid": "0.1", "ask": "0.2", "last": None}
    )
    checked = validate_ticks(raw)
    assert checked["reason"].to_list() == [None] * len(texts)
    assert checked["tick_ts"].to_list() == [instant] * len(texts)
    whole = validate_ticks(raw.with_columns(ts=pl.lit("1780315200")))
    assert whole["tick_ts"][0] == NOW


@given(
    instant=st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
)
@settings(max_examples=200, deadline=None)
def test_any_instant_survives_iso_with_any_offset_and_epoch_seconds(
    instant: datetime, offset_minutes: int
) -> None:
    local = instant.astimezone(timezone(timedelta(minutes=offset_minutes)))
    texts = [local.isoformat(), local.isoformat(sep=" "), repr(instant.timestamp())]
    raw = pl.DataFrame({"ts": texts})
    parsed = raw.select(parse_time("ts", pl.String())).to_series().to_list()
    assert parsed == [instant] * len(texts)


def ingest_sim(factory: sessionmaker[Session]) -> None:
    venue = SimVenue(SimWorld(SimConfig(events=6)))
    with session_scope(factory) as session:
        ingest_window(session, venue, since=NOW - timedelta(minutes=20), until=NOW)


@pytest.mark.both_backends
@pytest.mark.parametrize("parquet", [False, True], ids=["csv", "parquet"])
def test_export_then_import_into_an_empty_database_round_trips_exactly(
    session_factory: sessionmaker[Session], tmp_path: Path, parquet: bool
) -> None:
    ingest_sim(session_factory)
    with session_factory() as session:
        exported = export_dataset(session, tmp_path / "out", parquet=parquet, batch_rows=500)
    assert exported.ticks > 1000 and exported.links > 0
    target = fresh_sqlite(tmp_path / "target.sqlite3")
    summary = import_dataset(target, open_dataset(tmp_path / "out"), batch_rows=700)
    assert (summary.stored, sum(summary.rejected.values())) == (exported.ticks, 0)
    assert snapshot(target) == snapshot(session_factory)


@pytest.mark.both_backends
def test_export_keeps_only_the_venue_and_time_range_asked_for(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    ingest_sim(session_factory)
    since, until = NOW - timedelta(minutes=10), NOW - timedelta(minutes=5)
    with session_factory() as session:
        summary = export_dataset(
            session, tmp_path / "out", since=since, until=until, venue="sim_kalshi"
        )
        expected = session.scalar(
            select(func.count())
            .select_from(OddsTick)
            .join(Market)
            .where(Market.venue == "sim_kalshi", OddsTick.tick_ts >= since)
            .where(OddsTick.tick_ts < until)
        )
    ticks = pl.read_csv(tmp_path / "out" / "ticks.csv", infer_schema=False)
    markets = pl.read_csv(tmp_path / "out" / "markets.csv", infer_schema=False)
    assert summary.ticks == ticks.height == expected
    assert set(ticks["venue"]) == set(markets["venue"]) == {"sim_kalshi"}
    assert summary.links == 0
    assert min(ticks["ts"]) >= since.isoformat() and max(ticks["ts"]) < until.isoformat()


def test_export_refuses_a_directory_that_already_holds_a_dataset(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    write_dataset(tmp_path / "data", GOOD_TICKS)
    with session_factory() as session, pytest.raises(Exception, match="already holds"):
        export_dataset(session, tmp_path / "data")


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    monkeypatch.setenv("EDGEWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("EDGEWATCH_DATA_DIR", str(tmp_path / "home"))


@pytest.mark.usefixtures("cli_env")
def test_import_command_prints_a_summary_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["import", str(write_dataset(tmp_path / "d", GOOD_TICKS))])
    assert result.exit_code == 0, result.output
    assert "4 tick rows read, 4 stored" in result.stdout


@pytest.mark.usefixtures("cli_env")
def test_import_without_markets_csv_is_one_line_and_exit_2(tmp_path: Path) -> None:
    directory = write_dataset(tmp_path / "d", GOOD_TICKS)
    (directory / "markets.csv").unlink()
    result = CliRunner().invoke(app, ["import", str(directory)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"edgewatch: no markets.csv in {directory}"
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("cli_env")
def test_import_of_an_unreadable_tick_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    directory = write_dataset(tmp_path / "d", GOOD_TICKS)
    (directory / "ticks.csv").unlink()
    (directory / "ticks.parquet").write_bytes(b"this is not parquet")
    result = CliRunner().invoke(app, ["import", str(directory)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"edgewatch: cannot read {directory}")


@pytest.mark.usefixtures("cli_env")
def test_import_of_a_tick_file_whose_times_are_lists_is_one_line(tmp_path: Path) -> None:
    directory = write_dataset(tmp_path / "d", GOOD_TICKS)
    (directory / "ticks.csv").unlink()
    columns = {name: [None] for name in ("bid", "ask", "last", "volume", "bid_size", "ask_size")}
    pl.DataFrame(
        {"venue": ["kalshi"], "market_id": ["K1"], "ts": [[1, 2]], **columns}
    ).write_parquet(directory / "ticks.parquet")
    result = CliRunner().invoke(app, ["import", str(directory)])
    assert result.exit_code == 2
    # The last line: on PostgreSQL, migration log lines come first.
    assert result.stderr.strip().splitlines()[-1] == (
        "edgewatch: column ts holds List(Int64), not times (text, epoch or datetime)"
    )


@pytest.mark.usefixtures("cli_env")
def test_import_of_a_tick_file_without_required_columns_is_one_line(tmp_path: Path) -> None:
    directory = write_dataset(tmp_path / "d", "venue,market_id,ts\nkalshi,K1,1780315200\n")
    result = CliRunner().invoke(app, ["import", str(directory)])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("lacks required columns: bid, ask, last, volume")


@pytest.mark.usefixtures("cli_env")
def test_export_command_writes_a_dataset_that_imports(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    ingest_sim(session_factory)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["export", str(out), "--from", "2026-06-01T11:50:00Z", "--parquet"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("exported ")
    assert (out / "ticks.parquet").exists() and not (out / ".ticks-parts").exists()
    bad = CliRunner().invoke(app, ["export", str(tmp_path / "x"), "--to", "soon"])
    assert bad.exit_code == 2 and bad.stderr.startswith("edgewatch: --to: not an ISO 8601")


@pytest.mark.usefixtures("cli_env")
def test_many_rejected_rows_are_all_counted_but_only_the_first_are_kept(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    crossed = "".join(f"kalshi,K1,{1780315200 + i},0.6,0.5,,\n" for i in range(MAX_QUARANTINED + 5))
    dataset = open_dataset(write_dataset(tmp_path / "d", GOOD_TICKS + crossed, links=None))
    summary = import_dataset(session_factory, dataset, batch_rows=400)
    assert summary.rejected == {"tick:crossed_quote": MAX_QUARANTINED + 5, "market:bad_status": 1}
    with session_factory() as session:
        assert count(session, RejectedRecord) == MAX_QUARANTINED
        assert count(session, OddsTick) == 4


# --- an import killed midway ---------------------------------------------------------------------

LARGE_MARKETS = 15
TICKS_PER_MARKET = 4_000
BATCH_ROWS = 2_000
START = 1_780_315_200


def write_large_dataset(directory: Path) -> int:
    directory.mkdir()
    ids = [f"K{i:03d}" for i in range(LARGE_MARKETS)]
    pl.DataFrame(
        {
            "venue": "kalshi",
            "market_id": ids,
            "title": [f"Market {i}" for i in ids],
            "close_time": "2026-07-01T00:00:00+00:00",
            "status": "open",
            "resolution": None,
            "resolved_at": None,
        },
        schema_overrides={"resolution": pl.String, "resolved_at": pl.String},
    ).write_csv(directory / "markets.csv")
    second = pl.int_range(0, TICKS_PER_MARKET, eager=True)
    frames = [
        pl.DataFrame({"ts": second + START}).with_columns(
            venue=pl.lit("kalshi"),
            market_id=pl.lit(market),
            bid=(pl.col("ts") % 40) / 100 + 0.1,
            ask=(pl.col("ts") % 40) / 100 + 0.15,
            last=pl.lit(None, pl.Float64),
            volume=pl.col("ts") % 7,
        )
        for market in ids
    ]
    # Interleave markets by time, as a venue recording would be.
    ticks = pl.concat(frames).sort("ts", "market_id")
    ticks.select("venue", "market_id", "ts", "bid", "ask", "last", "volume").write_csv(
        directory / "ticks.csv"
    )
    return ticks.height


def tick_count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(OddsTick)) or 0


def start_import(directory: Path, db_url: str) -> subprocess.Popen[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("EDGEWATCH_")}
    env = {**base, "EDGEWATCH_DATABASE_URL": db_url, "EDGEWATCH_DATA_DIR": str(directory.parent)}
    command = [sys.executable, "-m", "edgewatch.ticks.cli", "import", str(directory)]
    return subprocess.Popen(
        [*command, "--batch-rows", str(BATCH_ROWS)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_import_killed_midway_and_rerun_ends_with_the_rows_of_one_clean_import(
    db_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    directory = tmp_path / "big"
    total = write_large_dataset(directory)
    process = start_import(directory, db_url)
    try:
        deadline = time.monotonic() + 120
        while tick_count(session_factory) == 0 and process.poll() is None:
            assert time.monotonic() < deadline, "the first batch never committed"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    killed_at = tick_count(session_factory)
    assert process.returncode == -signal.SIGKILL
    assert 0 < killed_at < total and killed_at % BATCH_ROWS == 0

    rerun = start_import(directory, db_url)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()
    assert f"{total} tick rows read, {total - killed_at} stored" in out.decode()

    clean = fresh_sqlite(tmp_path / "clean.sqlite3")
    summary = import_dataset(clean, open_dataset(directory), batch_rows=50_000)
    assert summary.stored == total
    assert snapshot(session_factory) == snapshot(clean)


@pytest.mark.usefixtures("cli_env")
def test_import_with_a_markets_csv_lacking_columns_is_one_line_before_anything_is_stored(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    directory = write_dataset(tmp_path / "d", GOOD_TICKS)
    (directory / "markets.csv").write_text("venue,market_id\nkalshi,K1\n")
    result = CliRunner().invoke(app, ["import", str(directory)])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith(
        "markets.csv lacks required columns: title, close_time, status, resolution, resolved_at"
    )
    with session_factory() as session:
        assert count(session, Market) == 0
