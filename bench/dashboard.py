"""Dashboard server time per page, with millions of ticks in PostgreSQL.

    uv run python bench/dashboard.py                         # 10 million ticks (several minutes)
    EDGEWATCH_BENCH_TICKS=500000 uv run python bench/dashboard.py   # a quick run

Uses ``EDGEWATCH_DATABASE_URL`` when set (a scratch database on that server is created and
dropped); otherwise starts a throwaway PostgreSQL of its own (``edgewatch.db.scratch``).

Data (not timed): 2,000 markets on two venues, half of them linked in confirmed pairs plus 50
proposed links; ``EDGEWATCH_BENCH_TICKS`` ticks spread evenly over the markets at 30-second steps
(random walks), stored through ``ticks.store.store_ticks`` — COPY, with the candles and
``last_tick_at`` kept as ingest keeps them; 20,000 signals, 5,000 pipeline runs, 20,000
quarantined records, two backtests of 50,000 equity points and 5,000 trades each, a paper account
with 5,000 equity snapshots, and firing alerts.

Timed: every dashboard page, in-process through the whole app (middleware, access check as an
admin API key, templates), one warm-up then the median of ``RUNS`` requests. The last line is
``dashboard_slowest_page_ms=<x>`` (target: under 300 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine, insert, text
from starlette.exceptions import StarletteDeprecationWarning

from edgewatch.accounts import api_keys, users
from edgewatch.accounts.scopes import scopes_of_role
from edgewatch.api.app import create_app
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db import migrate
from edgewatch.db.engine import create_db_engine
from edgewatch.db.scratch import throwaway_postgres
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.models import Market, MarketLink, PipelineRun, RejectedRecord, Signal
from edgewatch.models.alert import Alert
from edgewatch.models.backtest import BacktestEquity, BacktestRun, BacktestTrade
from edgewatch.models.paper import PaperEquity
from edgewatch.paper import service as paper_service
from edgewatch.ticks.store import store_ticks

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import scratch_database

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

MARKETS = 2_000
STEP = timedelta(seconds=30)
RUNS = 5
DEFAULT_TICKS = 10_000_000
CHUNK_MARKETS = 100
console = Console(stderr=True)


def _markets(engine: Engine, now: datetime) -> list[int]:
    rows = [
        {
            "venue": "kalshi" if n < MARKETS // 2 else "polymarket",
            "venue_market_id": f"BENCH-{n}",
            "title": f"Will benchmark question {n % (MARKETS // 2)} resolve YES?",
            "rules": "Resolves YES if the benchmark says so. " * 5,
            "status": "open",
            "close_time": now + timedelta(days=30),
            "fee_schedule": "kalshi" if n < MARKETS // 2 else "polymarket",
            "fee_multiplier": Decimal(1) if n < MARKETS // 2 else None,
            "fee_rate": None if n < MARKETS // 2 else Decimal("0.02"),
            "created_at": now,
            "updated_at": now,
        }
        for n in range(MARKETS)
    ]
    with engine.begin() as connection:
        ids = list(connection.execute(insert(Market).returning(Market.id), rows).scalars())
    half = MARKETS // 2
    links = [
        {
            "market_a_id": ids[n],
            "market_b_id": ids[n + half],
            "relation": "same",
            "confidence": 0.95,
            "status": "confirmed" if n >= 50 else "proposed",
            "source": "bench",
            "created_at": now,
        }
        for n in range(half)
    ]
    with engine.begin() as connection:
        connection.execute(insert(MarketLink), links)
    return ids


def _ticks(engine: Engine, ids: list[int], total: int, now: datetime) -> None:
    per_market = max(total // len(ids), 2)
    start = now - STEP * per_market
    rng = np.random.default_rng(7)
    times = pl.datetime_range(
        start, start + STEP * (per_market - 1), STEP, time_zone="UTC", eager=True
    ).cast(pl.Datetime("us", "UTC"))
    factory = make_session_factory(engine)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("storing ticks", total=per_market * len(ids))
        for first in range(0, len(ids), CHUNK_MARKETS):
            chunk = ids[first : first + CHUNK_MARKETS]
            walks = 0.5 + np.cumsum(rng.normal(0, 0.004, (len(chunk), per_market)), axis=1)
            mids = np.clip(walks, 0.03, 0.97).round(3)
            frame = pl.DataFrame(
                {
                    "market_id": np.repeat(np.array(chunk, dtype=np.int64), per_market),
                    "tick_ts": pl.concat([times] * len(chunk)),
                    "bid": (mids - 0.01).ravel(),
                    "ask": (mids + 0.01).ravel(),
                    "last": mids.ravel(),
                    "volume": np.tile(np.arange(per_market, dtype=np.float64) * 3, len(chunk)),
                    "bid_size": np.full(per_market * len(chunk), 100.0),
                    "ask_size": np.full(per_market * len(chunk), 100.0),
                }
            )
            with session_scope(factory) as session:
                store_ticks(session, frame)
            progress.advance(task, frame.height)


def _history(engine: Engine, ids: list[int], now: datetime) -> tuple[list[int], int]:
    """Signals, runs, quarantine, backtests and alerts; returns the backtest ids and a signal id."""
    rng = np.random.default_rng(11)
    signals = [
        {
            "created_at": now,
            "signal_ts": now - timedelta(seconds=int(s)),
            "strategy": ("cross_venue_arbitrage", "momentum", "mean_reversion")[n % 3],
            "strategy_version": "1",
            "market_id": ids[n % len(ids)],
            "side": "yes" if n % 2 else "no",
            "limit_price": 0.45,
            "size_hint": 10.0,
            "edge": 0.01 + (n % 7) / 1000,
            "confidence": 0.5 + (n % 5) / 10,
            "expires_at": now,
            "inputs": {"gap": 0.03, "zscore": 2.1, "spread": 0.02},
            "dedupe_key": f"bench-{n}",
        }
        for n, s in enumerate(sorted(rng.integers(0, 86_400, 20_000), reverse=True))
    ]
    runs = [
        {
            "pipeline": ("ingest-kalshi", "ingest-polymarket", "generate-signals", "paper-trade")[
                n % 4
            ],
            "status": "succeeded" if n % 50 else "failed",
            "started_at": now - timedelta(seconds=10 * (5_000 - n)),
            "finished_at": now - timedelta(seconds=10 * (5_000 - n) - 2),
            "rows_in": 400,
            "rows_stored": 390,
            "rows_rejected": 10,
            "error": None if n % 50 else "venue answered 503",
            "details": {},
        }
        for n in range(5_000)
    ]
    rejected = [
        {
            "created_at": now - timedelta(seconds=n),
            "venue": ("kalshi", "polymarket")[n % 2],
            "kind": "quote",
            "reason": ("crossed_quote", "nan_price", "out_of_range")[n % 3],
            "payload": '{"bid": 0.7, "ask": 0.6, "market": "X"}' * 20,
        }
        for n in range(20_000)
    ]
    with engine.begin() as connection:
        first_signal = connection.execute(insert(Signal).returning(Signal.id), signals[:1]).scalar()
        connection.execute(insert(Signal), signals[1:])
        connection.execute(insert(PipelineRun), runs)
        connection.execute(insert(RejectedRecord), rejected)
        connection.execute(
            insert(Alert),
            [
                {
                    "fingerprint": f"{n:064d}",
                    "rule": "EdgewatchHighConfidenceSignal",
                    "kind": "event",
                    "labels": {"signal_id": str(n)},
                    "severity": "info",
                    "summary": f"High-confidence signal {n}",
                    "description": "",
                    "status": "firing",
                    "deliveries": {},
                }
                for n in range(200)
            ],
        )
    backtests = [_backtest(engine, ids, now, seed) for seed in (1, 2)]
    return backtests, int(first_signal or 1)


def _backtest(engine: Engine, ids: list[int], now: datetime, seed: int) -> int:
    points = 50_000
    with engine.begin() as connection:
        run_id = connection.execute(
            insert(BacktestRun).returning(BacktestRun.id),
            [
                {
                    "strategy": "cross_venue_arbitrage",
                    "params": {},
                    "window_start": now - STEP * points,
                    "window_end": now,
                    "status": "succeeded",
                    "seed": seed,
                    "code_version": "bench",
                    "metrics": {"pnl": "123.45", "sharpe": 1.2, "max_drawdown": 0.04},
                    "progress": 1.0,
                    "created_at": now,
                    "finished_at": now,
                }
            ],
        ).scalar_one()
        equity = 10_000 + np.cumsum(np.random.default_rng(seed).normal(0, 2, points))
        connection.execute(
            insert(BacktestEquity),
            [
                {
                    "run_id": run_id,
                    "ts": now - STEP * (points - n),
                    "equity": float(value),
                    "cash": float(value),
                    "exposure": 0.0,
                }
                for n, value in enumerate(equity)
            ],
        )
        connection.execute(
            insert(BacktestTrade),
            [
                {
                    "run_id": run_id,
                    "seq": n,
                    "kind": "fill",
                    "market_id": ids[n % len(ids)],
                    "side": "yes",
                    "action": "buy",
                    "quantity": 10,
                    "price": Decimal("0.45"),
                    "fee": Decimal("0.02"),
                    "cash_flow": Decimal("-4.52"),
                    "ts": now - STEP * (5_000 - n),
                }
                for n in range(5_000)
            ],
        )
    return int(run_id)


def _paper(engine: Engine, now: datetime) -> int:
    with session_scope(make_session_factory(engine)) as session:
        account = paper_service.create_account(
            session,
            paper_service.AccountSettings(name="bench"),
            owner_id=None,
            actor="bench",
            now=now,
        )
        account_id = account.id
    with engine.begin() as connection:
        connection.execute(
            insert(PaperEquity),
            [
                {
                    "account_id": account_id,
                    "ts": now - timedelta(seconds=10 * n),
                    "equity": Decimal(10_000),
                    "cash": Decimal(10_000),
                    "positions_value": Decimal(0),
                    "realised_pnl": Decimal(0),
                    "unrealised_pnl": Decimal(0),
                }
                for n in range(5_000)
            ],
        )
    return int(account_id)


def _admin_key(engine: Engine) -> str:
    with session_scope(make_session_factory(engine)) as session:
        user = users.create(
            session, email="bench@edgewatch.test", role="admin", actor="bench", now=utcnow()
        )
        _, key = api_keys.create(
            session,
            user,
            name="bench",
            scopes=sorted(scopes_of_role("admin")),
            expires_at=None,
            now=utcnow(),
        )
    return key


def _pages(ids: list[int], backtests: list[int], signal_id: int, paper_id: int) -> list[str]:
    market = ids[MARKETS // 2 + 7]  # a linked market: its chart overlays the other venue
    return [
        "/",
        "/overview/live",
        "/markets",
        "/markets?q=question%2042&venue=kalshi",
        f"/markets/{market}",
        f"/markets/{market}?range=1h",
        f"/markets/{market}?range=24h",
        f"/markets/{market}?range=7d",
        f"/markets/{market}?range=30d",
        "/links",
        "/links?status=confirmed",
        "/signals",
        "/signals/feed?min_confidence=0.7",
        f"/signals/{signal_id}",
        "/signals/calibration",
        "/backtests",
        f"/backtests/{backtests[0]}",
        f"/backtests/compare?a={backtests[0]}&b={backtests[1]}",
        "/paper",
        f"/paper/{paper_id}",
        "/admin/pipelines",
        "/admin/quarantine",
        "/admin/models",
        "/guide",
    ]


def measure(url: str, ticks: int) -> float:
    migrate.upgrade(url)
    engine = create_db_engine(url)
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    ids = _markets(engine, now)
    _ticks(engine, ids, ticks, now)
    backtests, signal_id = _history(engine, ids, now)
    paper_id = _paper(engine, now)
    key = _admin_key(engine)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
        stored = connection.execute(text("SELECT count(*) FROM odds_ticks")).scalar_one()
    console.print(f"seeded {stored:,} ticks in {time.perf_counter() - started:.0f} s")
    settings = Settings(
        environment="test",
        data_dir=Path(tempfile.mkdtemp(prefix="edgewatch-bench-dashboard-")),
        database_url=url,
        secret_key="bench-secret-key-not-a-placeholder",  # type: ignore[arg-type]
        rate_limit_enabled=False,
        log_level="error",
    )
    table = Table("page", "median ms", "max ms")
    slowest = 0.0
    with TestClient(create_app(settings), headers={"X-API-Key": key}) as client:
        for path in _pages(ids, backtests, signal_id, paper_id):
            response = client.get(path)  # warm-up: template compile, first-use imports
            assert response.status_code == 200, (path, response.status_code, response.text[:300])
            timings = []
            for _ in range(RUNS):
                begun = time.perf_counter()
                response = client.get(path)
                timings.append((time.perf_counter() - begun) * 1000)
                assert response.status_code == 200, path
            median = statistics.median(timings)
            slowest = max(slowest, median)
            table.add_row(path, f"{median:.1f}", f"{max(timings):.1f}")
    engine.dispose()
    console.print(table)
    return slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--ticks",
        type=int,
        default=int(os.environ.get("EDGEWATCH_BENCH_TICKS", DEFAULT_TICKS)),
        help="ticks to store (default: EDGEWATCH_BENCH_TICKS or 10,000,000)",
    )
    args = parser.parse_args()
    with ExitStack() as stack:
        admin_url = os.environ.get("EDGEWATCH_DATABASE_URL")
        if not admin_url:
            cluster = stack.enter_context(
                throwaway_postgres(settings={"fsync": "off", "synchronous_commit": "off"})
            )
            admin_url = cluster.admin_url
        url = stack.enter_context(scratch_database(admin_url))
        slowest = measure(url, args.ticks)
    print(f"dashboard_slowest_page_ms={slowest:.1f}")


if __name__ == "__main__":
    main()
