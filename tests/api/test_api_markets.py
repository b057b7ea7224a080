from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, insert, text
from sqlalchemy.orm import Session

from edgewatch.markets.repository import list_markets, list_ticks
from edgewatch.models import OddsTick


def _all_pages(client: TestClient, url: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        query = dict(params) | ({"cursor": cursor} if cursor else {})
        response = client.get(url, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


@pytest.mark.both_backends
def test_market_list_carries_the_latest_quote(client: TestClient, seed: Any) -> None:
    quoted = seed.market("Fed cuts in March?", quote=(0.41, 0.43, 0.42))
    seed.ticks(quoted, [(seed.now - timedelta(hours=2), 0.30, 0.32, 0.31)])
    seed.market("No ticks yet", venue="polymarket")

    body = client.get("/api/v1/markets").json()

    assert body["next_cursor"] is None
    first, second = body["items"]
    assert first["title"] == "Fed cuts in March?"
    assert (first["bid"], first["ask"], first["last"]) == (0.41, 0.43, 0.42)
    assert first["last_tick_at"] == (seed.now - timedelta(minutes=1)).isoformat().replace(
        "+00:00", "Z"
    )
    assert second["venue"] == "polymarket"
    assert second["bid"] is None and second["last_tick_at"] is None


@pytest.mark.both_backends
def test_market_pages_cover_every_market_exactly_once(client: TestClient, seed: Any) -> None:
    ids = [seed.market(f"Market {n}").id for n in range(7)]

    first = client.get("/api/v1/markets", params={"limit": 3}).json()
    items = _all_pages(client, "/api/v1/markets", limit=3)

    assert len(first["items"]) == 3 and first["next_cursor"]
    assert [item["id"] for item in items] == ids


@pytest.mark.both_backends
def test_market_filters_combine(client: TestClient, seed: Any) -> None:
    seed.market("Will BTC close above 100k?", venue="kalshi")
    seed.market("will btc halve again?", venue="polymarket")
    seed.market("BTC above 100k on Friday", venue="kalshi", status="closed")
    seed.market("100% turnout?", venue="kalshi")

    def titles(**params: Any) -> list[str]:
        return [
            item["title"] for item in client.get("/api/v1/markets", params=params).json()["items"]
        ]

    assert titles(q="btc") == [
        "Will BTC close above 100k?",
        "will btc halve again?",
        "BTC above 100k on Friday",
    ]
    assert titles(q="BTC", venue="kalshi", status="open") == ["Will BTC close above 100k?"]
    # LIKE wildcards in the search text match literally.
    assert titles(q="100%") == ["100% turnout?"]
    assert titles(q="_") == []


def test_market_detail_lists_links_from_both_sides(client: TestClient, seed: Any) -> None:
    kalshi = seed.market("Rain in NYC on Friday?", quote=(0.5, 0.52, 0.51), rules="Per NOAA.")
    poly = seed.market("NYC rain Friday", venue="polymarket")
    other = seed.market("NYC dry Friday", venue="polymarket")
    seed.link(kalshi, poly, confidence=0.95)
    seed.link(other, kalshi, relation="complement", confidence=0.7, status="proposed")

    body = client.get(f"/api/v1/markets/{kalshi.id}").json()

    assert body["rules"] == "Per NOAA."
    assert body["bid"] == 0.5
    assert [(link["market_id"], link["relation"], link["status"]) for link in body["links"]] == [
        (poly.id, "same", "confirmed"),
        (other.id, "complement", "proposed"),
    ]
    assert body["links"][0]["title"] == "NYC rain Friday"


@pytest.mark.both_backends
def test_unknown_market_is_a_404_problem(client: TestClient, problem: Any) -> None:
    body = problem(client.get("/api/v1/markets/999"), status=404, code="not-found")
    assert "999" in body["detail"]
    problem(client.get("/api/v1/markets/999/ticks"), status=404, code="not-found")


@pytest.mark.both_backends
def test_ticks_window_and_pages_in_both_orders(client: TestClient, seed: Any) -> None:
    market = seed.market("Ticking")
    start = seed.now - timedelta(hours=1)
    seed.ticks(market, [(start + timedelta(minutes=n), 0.4, 0.5, 0.45) for n in range(10)])
    window = {
        "from": (start + timedelta(minutes=2)).isoformat(),
        "to": (start + timedelta(minutes=8)).isoformat(),
    }
    url = f"/api/v1/markets/{market.id}/ticks"

    ascending = _all_pages(client, url, limit=4, **window)
    descending = _all_pages(client, url, limit=4, order="desc", **window)

    expected = [(start + timedelta(minutes=n)).isoformat() for n in range(2, 8)]
    assert [tick["tick_ts"].replace("Z", "+00:00") for tick in ascending] == expected
    assert [tick["tick_ts"].replace("Z", "+00:00") for tick in descending] == expected[::-1]


def test_ticks_window_must_not_be_reversed(client: TestClient, seed: Any, problem: Any) -> None:
    market = seed.market("Ticking")
    response = client.get(
        f"/api/v1/markets/{market.id}/ticks",
        params={"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
    )
    body = problem(response, status=422, code="validation-error")
    assert body["errors"][0]["loc"] == ["query", "from"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 5001}, "limit"),
        ({"from": "yesterday"}, "from"),
        ({"order": "sideways"}, "order"),
        ({"cursor": "not a cursor!"}, "cursor"),
    ],
)
def test_bad_tick_queries_are_422_problems(
    client: TestClient, seed: Any, problem: Any, params: dict[str, Any], field: str
) -> None:
    market = seed.market("Ticking")
    response = client.get(f"/api/v1/markets/{market.id}/ticks", params=params)
    body = problem(response, status=422, code="validation-error")
    assert ["query", field] in [error["loc"] for error in body["errors"]]


def _explain_last_query(engine: Engine, session: Session, run: Any) -> str:
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    statement, parameters = statements[-1]
    rows = session.connection().exec_driver_sql("EXPLAIN " + statement, parameters)
    return "\n".join(row[0] for row in rows)


@pytest.fixture
def many_ticks(engine: Engine, session: Session, seed: Any) -> list[Any]:
    """Five markets with 4,000 ticks each, analysed, so the planner sees a real table."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the plan check needs PostgreSQL")
    markets = [seed.market(f"Market {n}") for n in range(5)]
    session.execute(
        insert(OddsTick),
        [
            {"market_id": m.id, "tick_ts": seed.now - timedelta(seconds=s), "bid": 0.4}
            for m in markets
            for s in range(1, 4001)
        ],
    )
    for market in markets:
        market.last_tick_at = seed.now - timedelta(seconds=1)
    session.commit()
    session.execute(text("ANALYZE"))
    return markets


def test_ticks_are_read_through_the_primary_key(
    engine: Engine, session: Session, seed: Any, many_ticks: list[Any]
) -> None:
    plan = _explain_last_query(
        engine,
        session,
        lambda: list_ticks(
            session,
            many_ticks[2].id,
            limit=50,
            start=seed.now - timedelta(minutes=30),
            after=seed.now - timedelta(minutes=20),
        ),
    )
    assert "pk_odds_ticks" in plan, plan
    assert "Seq Scan on odds_ticks" not in plan, plan


def test_latest_quotes_are_looked_up_by_primary_key(
    engine: Engine, session: Session, many_ticks: list[Any]
) -> None:
    plan = _explain_last_query(engine, session, lambda: list_markets(session, limit=51))
    assert "pk_odds_ticks" in plan, plan
    assert "Seq Scan on odds_ticks" not in plan, plan
