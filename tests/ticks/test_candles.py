"""Candles agree with a plain recomputation from the raw ticks, however the ticks arrive."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.db.session import session_scope
from edgewatch.models import Candle, Market, OddsTick
from edgewatch.strategies.base import TICK_SCHEMA
from edgewatch.ticks.candles import rebuild_candles
from edgewatch.ticks.dataset import open_dataset
from edgewatch.ticks.importer import import_dataset
from edgewatch.ticks.ingest import ingest_window
from edgewatch.ticks.store import store_ticks
from edgewatch.venues.sim.venue import SimVenue
from edgewatch.venues.sim.world import SimConfig, SimWorld

pytestmark = pytest.mark.both_backends
START = datetime(2026, 3, 1, 9, 58, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

Tick = tuple[int, datetime, float | None, float | None, float | None, float | None]
CandleRow = tuple[int, int, datetime, float, float, float, float, Any, Any, Any, int]


def reference_candles(ticks: Iterable[Tick]) -> set[CandleRow]:
    """The candles of ``ticks``, recomputed the obvious way: group, sort, pick."""
    groups: dict[tuple[int, int, datetime], list[Tick]] = defaultdict(list)
    for tick in ticks:
        market_id, ts = tick[0], tick[1]
        if _price(tick) is None:
            continue
        for width in (60, 3600):
            epoch = int(ts.timestamp())
            bucket = datetime.fromtimestamp(epoch - epoch % width, tz=UTC)
            groups[(market_id, width, bucket)].append(tick)
    candles = set()
    for (market_id, width, bucket), rows in groups.items():
        rows.sort(key=lambda row: row[1])
        prices = [_price(row) for row in rows]
        last_tick = rows[-1]
        candles.add(
            (
                market_id,
                width,
                bucket,
                prices[0],
                max(p for p in prices if p is not None),
                min(p for p in prices if p is not None),
                prices[-1],
                last_tick[2],
                last_tick[3],
                last_tick[5],
                len(rows),
            )
        )
    return candles  # type: ignore[return-value]


def _price(tick: Tick) -> float | None:
    _, _, bid, ask, last, _ = tick
    if bid is not None and ask is not None:
        return (bid + ask) / 2
    return last


def stored_candles(session: Session) -> set[CandleRow]:
    rows = session.execute(
        select(
            Candle.market_id,
            Candle.width_seconds,
            Candle.bucket_start,
            Candle.open,
            Candle.high,
            Candle.low,
            Candle.close,
            Candle.bid,
            Candle.ask,
            Candle.volume,
            Candle.tick_count,
        )
    ).all()
    return {tuple(row) for row in rows}  # type: ignore[misc]


def frame_of(ticks: list[Tick]) -> pl.DataFrame:
    rows = [(*tick, None, None) for tick in ticks]
    return pl.DataFrame(rows, schema=TICK_SCHEMA, orient="row")


def add_markets(session_factory: sessionmaker[Session], count: int) -> list[int]:
    with session_scope(session_factory) as session:
        markets = [
            Market(venue="test", venue_market_id=f"M{n}", title=f"Market {n}") for n in range(count)
        ]
        session.add_all(markets)
        session.flush()
        return [market.id for market in markets]


def test_candles_of_one_minute_and_one_hour_match_the_ticks(
    session_factory: sessionmaker[Session],
) -> None:
    (market,) = add_markets(session_factory, 1)
    ticks: list[Tick] = [
        (market, START + timedelta(seconds=5), 0.40, 0.44, 0.41, 10.0),
        (market, START + timedelta(seconds=30), 0.50, 0.52, 0.50, 12.0),
        (market, START + timedelta(seconds=59), None, 0.60, 0.35, 15.0),  # one side: last
        (market, START + timedelta(seconds=61), 0.20, None, None, 15.0),  # no price: skipped
        (market, START + timedelta(minutes=3), 0.30, 0.34, 0.31, 20.0),
    ]
    with session_scope(session_factory) as session:
        store_ticks(session, frame_of(ticks))
    with session_factory() as session:
        candles = stored_candles(session)
    minute = START.replace(second=0)
    first, high, later = (0.40 + 0.44) / 2, (0.50 + 0.52) / 2, (0.30 + 0.34) / 2
    nine = (market, 60, minute, first, high, 0.35, 0.35, None, 0.60, 15.0, 3)
    three = minute + timedelta(minutes=3)
    ten = (market, 60, three, later, later, later, later, 0.3, 0.34, 20.0, 1)
    assert {row for row in candles if row[1] == 60} == {nine, ten}
    # Each hour holds one of the minutes, so the hour candles repeat them.
    assert {row for row in candles if row[1] == 3600} == {
        (market, 3600, START.replace(minute=0), *nine[3:]),
        (market, 3600, START.replace(hour=10, minute=0), *ten[3:]),
    }
    assert candles == reference_candles(ticks)


def test_a_late_tick_inside_an_existing_candle_recomputes_it(
    session_factory: sessionmaker[Session],
) -> None:
    (market,) = add_markets(session_factory, 1)
    first: list[Tick] = [(market, START + timedelta(seconds=30), 0.5, 0.5, 0.5, 1.0)]
    earlier: list[Tick] = [(market, START + timedelta(seconds=10), 0.2, 0.2, 0.2, 0.5)]
    later: list[Tick] = [(market, START + timedelta(seconds=50), 0.9, 0.9, 0.9, 2.0)]
    for batch in (first, later, earlier):
        with session_scope(session_factory) as session:
            store_ticks(session, frame_of(batch))
    with session_factory() as session:
        candles = stored_candles(session)
    assert (market, 60, START.replace(second=0), 0.2, 0.9, 0.2, 0.9, 0.9, 0.9, 2.0, 3) in candles
    assert candles == reference_candles(first + later + earlier)


tick_strategy = st.tuples(
    st.integers(0, 1),
    st.integers(0, 3 * 3600),
    st.one_of(st.none(), st.integers(0, 100)),
    st.one_of(st.none(), st.integers(0, 100)),
    st.one_of(st.none(), st.integers(0, 100)),
    st.one_of(st.none(), st.integers(0, 10_000)),
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    raw=st.lists(tick_strategy, min_size=1, max_size=80),
    cuts=st.lists(st.integers(0, 80), max_size=4),
)
def test_incremental_candles_equal_a_recomputation_and_a_rebuild(
    session_factory: sessionmaker[Session], raw: list[tuple[Any, ...]], cuts: list[int]
) -> None:
    with session_scope(session_factory) as session:
        session.execute(delete(Candle))
        session.execute(delete(OddsTick))
        session.execute(delete(Market))
    markets = add_markets(session_factory, 2)
    unique: dict[tuple[int, datetime], Tick] = {}
    for index, seconds, bid, ask, last, volume in raw:
        ts = START + timedelta(seconds=seconds, microseconds=index * 7)
        unique.setdefault(
            (markets[index], ts),
            (markets[index], ts, _cents(bid), _cents(ask), _cents(last), volume and float(volume)),
        )
    ticks = list(unique.values())
    # Several ingest windows, in arrival order (not time order), then the whole lot again.
    bounds = [0, *sorted(cut % (len(ticks) + 1) for cut in cuts), len(ticks)]
    for lo, hi in itertools.pairwise(bounds):
        with session_scope(session_factory) as session:
            store_ticks(session, frame_of(ticks[lo:hi]))
    with session_factory() as session:
        incremental = stored_candles(session)
    assert incremental == reference_candles(ticks)
    with session_scope(session_factory) as session:
        assert store_ticks(session, frame_of(ticks)) == 0
        assert stored_candles(session) == incremental
    with session_scope(session_factory) as session:
        session.execute(delete(Candle))
        rebuild_candles(session.connection())
    with session_factory() as session:
        assert stored_candles(session) == incremental


def _cents(value: int | None) -> float | None:
    return None if value is None else value / 100


def test_simulator_ingest_in_windows_keeps_candles_equal_to_a_rebuild(
    session_factory: sessionmaker[Session],
) -> None:
    venue = SimVenue(SimWorld(SimConfig(events=6)))
    # Overlapping and out-of-order windows, as restarts and backfills produce them.
    windows = [(-90, -60), (-65, -20), (-20, 0), (-120, -85), (-30, 0)]
    for since, until in windows:
        with session_scope(session_factory) as session:
            ingest_window(
                session,
                venue,
                since=NOW + timedelta(minutes=since),
                until=NOW + timedelta(minutes=until),
            )
    with session_factory() as session:
        incremental = stored_candles(session)
        ticks = session.execute(
            select(
                OddsTick.market_id,
                OddsTick.tick_ts,
                OddsTick.bid,
                OddsTick.ask,
                OddsTick.last,
                OddsTick.volume,
            )
        ).all()
    assert len(incremental) > 100
    assert incremental == reference_candles([tuple(row) for row in ticks])  # type: ignore[misc]
    with session_scope(session_factory) as session:
        session.execute(delete(Candle))
        assert rebuild_candles(session.connection()) > 0
    with session_factory() as session:
        assert stored_candles(session) == incremental


def test_imported_ticks_get_candles_equal_to_a_recomputation(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    (tmp_path / "markets.csv").write_text(
        "venue,market_id,title,close_time,status,resolution,resolved_at\n"
        "kalshi,K1,Will it rain?,2026-12-31T00:00:00Z,open,,\n"
        "polymarket,P1,Will it snow?,2026-12-31T00:00:00Z,open,,\n"
    )
    lines = ["venue,market_id,ts,bid,ask,last,volume"]
    for n in range(400):
        ts = (START + timedelta(seconds=17 * n)).isoformat()
        lines.append(f"kalshi,K1,{ts},{0.3 + (n % 5) / 100},{0.35 + (n % 4) / 100},,{n}")
        lines.append(f"polymarket,P1,{ts},,,{0.5 + (n % 11) / 1000},{2 * n}")
    (tmp_path / "ticks.csv").write_text("\n".join(lines) + "\n")
    # Small batches, so candles are kept across many transactions, as a large import does.
    summary = import_dataset(session_factory, open_dataset(tmp_path), batch_rows=97)
    assert summary.stored == 800
    with session_factory() as session:
        imported = stored_candles(session)
        ticks = session.execute(
            select(
                OddsTick.market_id,
                OddsTick.tick_ts,
                OddsTick.bid,
                OddsTick.ask,
                OddsTick.last,
                OddsTick.volume,
            )
        ).all()
    assert imported == reference_candles([tuple(row) for row in ticks])  # type: ignore[misc]
    assert {row[1] for row in imported} == {60, 3600}
