"""A large, realistic database for the API and dashboard benchmarks, built fast.

Markets come in linked pairs (one Kalshi, one Polymarket) with a random-walk price each; ticks go
in through PostgreSQL COPY a million at a time, then the candles are rebuilt once, as after an
``edgewatch import``. 10 million ticks take a few minutes here, most of it COPY and the candles.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
from rich.progress import Progress
from sqlalchemy import text

from edgewatch.db import migrate
from edgewatch.db.engine import create_db_engine
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.models import Market, MarketLink, Signal
from edgewatch.ticks.candles import rebuild_candles
from edgewatch.ticks.store import COLUMNS

CHUNK_TICKS = 1_000_000
TICK_SECONDS = 60


def _markets(count: int, now: datetime) -> list[Market]:
    markets = []
    for index in range(count):
        venue = "kalshi" if index % 2 == 0 else "polymarket"
        markets.append(
            Market(
                venue=venue,
                venue_market_id=f"BENCH-{index // 2:05d}-{venue[0].upper()}",
                event_id=f"BENCH-EVENT-{index // 20:04d}",
                title=f"Will benchmark event {index // 2} happen by {now.date()}?",
                category="benchmark",
                status="open",
                close_time=now + timedelta(days=30),
                fee_schedule="standard" if venue == "kalshi" else None,
                fee_multiplier=1 if venue == "kalshi" else None,
                fee_rate=0.02 if venue == "polymarket" else None,
            )
        )
    return markets


def _tick_chunk(
    market_ids: np.ndarray, per_market: int, end: datetime, rng: np.random.Generator
) -> pl.DataFrame:
    steps = rng.normal(0, 0.004, size=(len(market_ids), per_market))
    start = rng.uniform(0.1, 0.9, size=(len(market_ids), 1))
    mid = np.clip(start + np.cumsum(steps, axis=1), 0.03, 0.97)
    half_spread = rng.uniform(0.005, 0.015, size=mid.shape)
    offsets = np.arange(per_market - 1, -1, -1, dtype=np.int64) * TICK_SECONDS * 1_000_000
    end_us = int(end.timestamp() * 1_000_000)
    return pl.DataFrame(
        {
            "market_id": np.repeat(market_ids, per_market),
            "tick_ts": np.tile(end_us - offsets, len(market_ids)),
            "bid": np.round(mid - half_spread, 4).ravel(),
            "ask": np.round(mid + half_spread, 4).ravel(),
            "last": np.round(mid, 4).ravel(),
            "volume": np.cumsum(rng.integers(0, 50, size=mid.shape), axis=1).ravel() * 1.0,
            "bid_size": rng.integers(10, 5_000, size=mid.size) * 1.0,
            "ask_size": rng.integers(10, 5_000, size=mid.size) * 1.0,
        }
    ).with_columns(pl.from_epoch("tick_ts", time_unit="us").dt.replace_time_zone("UTC"))


def seed_database(url: str, *, ticks: int, markets: int = 2_000, seed: int = 5) -> datetime:
    """Migrate ``url`` and fill it; returns the time of the newest tick."""
    migrate.upgrade(url)
    engine = create_db_engine(url)
    factory = make_session_factory(engine)
    now = datetime.now(UTC).replace(microsecond=0)
    rng = np.random.default_rng(seed)
    with session_scope(factory) as session:
        rows = _markets(markets, now)
        session.add_all(rows)
        session.flush()
        ids = np.array([market.id for market in rows], dtype=np.int64)
        for a, b in zip(rows[::2], rows[1::2], strict=False):
            session.add(
                MarketLink(
                    market_a_id=a.id,
                    market_b_id=b.id,
                    relation="same",
                    confidence=0.95,
                    status="confirmed",
                    source="bench",
                )
            )
        for index in range(min(5_000, markets * 5)):
            market = rows[index % markets]
            at = now - timedelta(minutes=index)
            session.add(
                Signal(
                    signal_ts=at,
                    strategy="cross_venue_arbitrage",
                    strategy_version="bench",
                    market_id=market.id,
                    side="yes",
                    limit_price=0.5,
                    size_hint=10.0,
                    edge=0.01 + (index % 7) / 100,
                    confidence=(index % 10) / 10,
                    expires_at=at + timedelta(minutes=5),
                    inputs={"bench": True},
                    dedupe_key=f"bench-{index}",
                )
            )
    per_market = max(ticks // markets, 1)
    markets_per_chunk = max(CHUNK_TICKS // per_market, 1)
    with Progress() as progress, engine.connect() as connection:
        task = progress.add_task("seeding ticks (COPY)", total=per_market * markets)
        raw = connection.connection.dbapi_connection
        assert raw is not None
        for first in range(0, markets, markets_per_chunk):
            frame = _tick_chunk(ids[first : first + markets_per_chunk], per_market, now, rng)
            buffer = io.BytesIO()
            frame.select(COLUMNS).write_csv(buffer, include_header=False)
            with raw.cursor() as cursor:  # type: ignore[attr-defined]
                copy_sql = f"COPY odds_ticks ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv)"
                with cursor.copy(copy_sql) as copy:
                    copy.write(buffer.getvalue())
            raw.commit()
            progress.advance(task, frame.height)
        progress.add_task("rebuilding candles", total=None)
        rebuild_candles(connection)
        connection.execute(
            text(
                "UPDATE markets SET last_tick_at = t.ts FROM "
                "(SELECT market_id, max(tick_ts) AS ts FROM odds_ticks GROUP BY market_id) t "
                "WHERE t.market_id = markets.id"
            )
        )
        connection.execute(text("ANALYZE"))
        connection.commit()
    engine.dispose()
    print(f"seeded {markets:,} markets and {per_market * markets:,} ticks")
    return now
