"""The tick endpoint: raw ticks for short windows, candles in bounded pages for long ones."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient
from pydantic_core import to_json
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from edgewatch.markets.repository import page_candles
from edgewatch.markets.router import choose_interval
from edgewatch.markets.schemas import CandleOut, TickOut, TickSeries
from edgewatch.models import Market
from edgewatch.strategies.base import TICK_SCHEMA
from edgewatch.ticks.store import store_ticks

HOURS = 3
STEP = timedelta(seconds=10)


def store_history(session: Session, market: Market, start: datetime, *, hours: int) -> None:
    """A tick every 10 s for ``hours``, through the ingest write path (so candles are kept)."""
    count = int(timedelta(hours=hours) / STEP)
    rows = [
        (market.id, start + n * STEP, 0.30 + (n % 7) / 100, 0.40 + (n % 5) / 100)
        for n in range(count)
    ]
    full = [(*row, None, float(n), None, None) for n, row in enumerate(rows)]
    store_ticks(session, pl.DataFrame(full, schema=TICK_SCHEMA, orient="row"))
    session.commit()


def all_pages(client: TestClient, url: str, **params: Any) -> tuple[set[str], list[dict[str, Any]]]:
    intervals, items, cursor = set(), [], None
    while True:
        body = client.get(url, params=params | ({"cursor": cursor} if cursor else {})).json()
        intervals.add(body["interval"])
        assert len(body["items"]) <= params.get("limit", 500)
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return intervals, items


@pytest.fixture
def history(session: Session, seed: Any) -> tuple[Market, datetime]:
    market = seed.market("Three hours of ticks")
    start = seed.now.replace(minute=0, second=0) - timedelta(hours=HOURS + 1)
    store_history(session, market, start, hours=HOURS)
    return market, start


@pytest.mark.both_backends
def test_auto_serves_ticks_then_minute_then_hour_candles_by_window_length(
    client: TestClient, history: tuple[Market, datetime]
) -> None:
    market, start = history
    url = f"/api/v1/markets/{market.id}/ticks"

    def get(span: timedelta, limit: int = 500) -> dict[str, Any]:
        window = {"from": start.isoformat(), "to": (start + span).isoformat(), "limit": limit}
        body: dict[str, Any] = client.get(url, params=window).json()
        return body

    short = get(timedelta(minutes=30))
    assert short["interval"] == "raw"
    assert len(short["items"]) == 180
    assert short["items"][0]["tick_ts"].replace("Z", "+00:00") == start.isoformat()

    medium = get(timedelta(hours=HOURS))
    assert medium["interval"] == "1m"
    assert len(medium["items"]) == HOURS * 60
    assert medium["next_cursor"] is None
    first = medium["items"][0]
    # Six ticks per minute; the first minute's prices are those of ticks 0..5.
    mids = [((0.30 + (n % 7) / 100) + (0.40 + (n % 5) / 100)) / 2 for n in range(6)]
    assert first["tick_count"] == 6
    assert (first["open"], first["close"]) == (pytest.approx(mids[0]), pytest.approx(mids[-1]))
    assert (first["high"], first["low"]) == (pytest.approx(max(mids)), pytest.approx(min(mids)))
    assert first["volume"] == 5.0

    long = get(timedelta(hours=HOURS), limit=100)
    assert long["interval"] == "1h"
    assert [item["tick_count"] for item in long["items"]] == [360] * HOURS


@pytest.mark.both_backends
def test_candle_pages_cover_the_window_once_in_both_orders(
    client: TestClient, history: tuple[Market, datetime]
) -> None:
    market, start = history
    url = f"/api/v1/markets/{market.id}/ticks"
    # A window starting mid-minute still includes the candle that holds its start.
    window = {
        "from": (start + timedelta(seconds=30)).isoformat(),
        "to": (start + timedelta(hours=2)).isoformat(),
        "interval": "1m",
        "limit": 50,
    }
    intervals, ascending = all_pages(client, url, **window)
    _, descending = all_pages(client, url, order="desc", **window)
    starts = [item["bucket_start"] for item in ascending]
    assert intervals == {"1m"}
    assert len(starts) == 120 and len(set(starts)) == 120
    assert starts == sorted(starts)
    assert [item["bucket_start"] for item in descending] == starts[::-1]


def test_without_a_start_the_endpoint_pages_raw_ticks_as_before(
    client: TestClient, history: tuple[Market, datetime]
) -> None:
    market, _ = history
    body = client.get(f"/api/v1/markets/{market.id}/ticks", params={"limit": 7}).json()
    assert body["interval"] == "raw"
    assert len(body["items"]) == 7
    assert body["next_cursor"]


def test_unknown_interval_is_a_422_problem(client: TestClient, seed: Any, problem: Any) -> None:
    market = seed.market("Ticking")
    response = client.get(f"/api/v1/markets/{market.id}/ticks", params={"interval": "5m"})
    body = problem(response, status=422, code="validation-error")
    assert ["query", "interval"] in [error["loc"] for error in body["errors"]]


@pytest.mark.parametrize(
    ("span", "limit", "expected"),
    [
        (timedelta(minutes=59), 500, "raw"),
        (timedelta(hours=1), 500, "raw"),
        (timedelta(hours=2), 500, "1m"),
        (timedelta(minutes=500), 500, "1m"),
        (timedelta(minutes=501), 500, "1h"),
        (timedelta(days=365), 5000, "1h"),
    ],
)
def test_auto_interval_threshold(span: timedelta, limit: int, expected: str) -> None:
    now = datetime.fromisoformat("2026-06-01T12:00:00+00:00")
    assert choose_interval(now - span, now, now=now, limit=limit) == expected
    assert choose_interval(now - span, None, now=now, limit=limit) == expected
    assert choose_interval(None, now, now=now, limit=limit) == "raw"


def test_candle_query_walks_the_candles_primary_key(
    engine: Engine, session: Session, seed: Any
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the plan check needs PostgreSQL")
    markets = [seed.market(f"Market {n}") for n in range(4)]
    start = seed.now.replace(minute=0, second=0) - timedelta(hours=12)
    for market in markets:
        store_history(session, market, start, hours=10)
    session.execute(text("ANALYZE"))
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        page_candles(
            session,
            markets[1].id,
            width_seconds=60,
            limit=501,
            start=start + timedelta(hours=2),
            end=start + timedelta(hours=8),
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    statement, parameters = statements[-1]
    plan = "\n".join(
        row[0] for row in session.connection().exec_driver_sql("EXPLAIN " + statement, parameters)
    )
    assert "pk_candles" in plan, plan
    assert "Seq Scan on candles" not in plan, plan


@pytest.mark.both_backends
@pytest.mark.parametrize("interval", ["raw", "1m", "1h"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_pages_hold_exactly_what_the_tick_series_model_declares(
    client: TestClient, history: tuple[Market, datetime], interval: str, order: str
) -> None:
    """The route writes its JSON without the model (PostgreSQL formats it); the values must be
    the model's: same fields, UTC times written with ``Z``, numbers, nulls."""
    market, start = history
    params = {"from": start.isoformat(), "interval": interval, "limit": 100, "order": order}
    response = client.get(f"/api/v1/markets/{market.id}/ticks", params=params)
    assert response.status_code == 200
    body = response.json()
    assert body["items"] and body["interval"] == interval
    assert body["next_cursor"] is not None or interval == "1h"
    model = TickSeries.model_validate(body)
    assert model.model_dump(mode="json") == body
    item_model = TickOut if interval == "raw" else CandleOut
    assert all(type(item) is item_model for item in model.items)


@pytest.mark.both_backends
def test_tick_times_keep_their_microseconds_and_zone(
    client: TestClient, session: Session, seed: Any
) -> None:
    market = seed.market("Sub-second ticks")
    base = seed.now.replace(microsecond=0) - timedelta(minutes=5)
    offsets = [(0, 0), (1, 120_000), (2, 999_999), (3, 7)]
    times = [base + timedelta(seconds=n, microseconds=m) for n, m in offsets]
    rows = [(market.id, when, 0.4, 0.5, None, 1.0, None, None) for when in times]
    store_ticks(session, pl.DataFrame(rows, schema=TICK_SCHEMA, orient="row"))
    session.commit()

    response = client.get(
        f"/api/v1/markets/{market.id}/ticks",
        params={"from": times[0].isoformat(), "interval": "raw"},
    )

    written = [item["tick_ts"] for item in response.json()["items"]]
    assert written == [to_json(when).decode().strip('"') for when in times]
    assert [when[19:] for when in written] == ["Z", ".120000Z", ".999999Z", ".000007Z"]
