"""``/api/v1/data-quality`` lists stored findings; readiness reports freshness and quality."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from edgewatch.api.health import check_data_freshness, check_data_quality
from edgewatch.config import Settings
from edgewatch.models import Market, QualityFinding


def finding(session: Session, market: Market, kind: str, age: timedelta, **fields: Any) -> None:
    end = fields.pop("end", None)
    start = fields.pop("start", None)
    now = market.created_at
    values: dict[str, Any] = {
        "market_id": market.id,
        "venue": market.venue,
        "kind": kind,
        "start_ts": start or now - age,
        "end_ts": end or now - age,
        "tick_count": 1,
        "value": 1.0,
        "detail": f"a {kind}",
    }
    session.add(QualityFinding(**(values | fields)))
    session.commit()


@pytest.fixture
def stored(session: Session, seed: Any) -> tuple[Market, Market]:
    kalshi = seed.market("Kalshi market", venue="kalshi")
    poly = seed.market("Polymarket market", venue="polymarket")
    finding(
        session, kalshi, "gap", timedelta(hours=30), end=kalshi.created_at - timedelta(hours=26)
    )
    finding(session, kalshi, "crossed_quote", timedelta(hours=2))
    finding(session, poly, "jump", timedelta(hours=1))
    finding(session, poly, "crossed_quote", timedelta(minutes=5))
    return kalshi, poly


@pytest.mark.both_backends
def test_findings_are_listed_newest_first_with_filters(
    client: TestClient, stored: tuple[Market, Market]
) -> None:
    kalshi, poly = stored
    url = "/api/v1/data-quality"
    everything = client.get(url).json()
    assert [item["kind"] for item in everything["items"]] == [
        "crossed_quote",
        "jump",
        "crossed_quote",
        "gap",
    ]
    first = everything["items"][0]
    assert (first["market_id"], first["venue"], first["detail"]) == (
        poly.id,
        "polymarket",
        "a crossed_quote",
    )
    assert {
        i["market_id"] for i in client.get(url, params={"venue": "kalshi"}).json()["items"]
    } == {kalshi.id}
    crossed = client.get(url, params={"kind": "crossed_quote"}).json()["items"]
    assert [item["venue"] for item in crossed] == ["polymarket", "kalshi"]
    one_market = client.get(url, params={"market_id": poly.id, "kind": "jump"}).json()["items"]
    assert len(one_market) == 1
    since = (kalshi.created_at - timedelta(hours=24)).isoformat()
    recent = client.get(url, params={"since": since}).json()["items"]
    assert "gap" not in [item["kind"] for item in recent] and len(recent) == 3


def test_findings_page_with_a_cursor(client: TestClient, stored: tuple[Market, Market]) -> None:
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/v1/data-quality", params=params).json()
        seen.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 4 and seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"kind": "weird"}, "kind"), ({"limit": 501}, "limit"), ({"since": "yesterday"}, "since")],
)
def test_bad_queries_are_422_problems(
    client: TestClient, problem: Any, params: dict[str, Any], field: str
) -> None:
    body = problem(
        client.get("/api/v1/data-quality", params=params), status=422, code="validation-error"
    )
    assert ["query", field] in [error["loc"] for error in body["errors"]]


def test_readiness_summarises_the_last_day_of_findings(
    client: TestClient, session: Session, stored: tuple[Market, Market]
) -> None:
    kalshi, _ = stored
    check = check_data_quality(session, now=kalshi.created_at)
    assert check.status == "ok"  # bad quotes were quarantined; nothing is missing
    assert check.detail == (
        "last 24 h: kalshi crossed_quote 1, polymarket crossed_quote 1, polymarket jump 1"
    )
    finding(session, kalshi, "stale_quote", timedelta(hours=3))
    assert check_data_quality(session, now=kalshi.created_at).status == "warn"
    body = client.get("/health/ready").json()
    assert "data_quality" in {check["name"] for check in body["checks"]}


def test_freshness_fails_once_the_newest_tick_is_older_than_the_setting(
    session: Session, seed: Any, settings: Settings
) -> None:
    assert settings.data_stale_after_hours == 6
    market = seed.market("Ticking", quote=(0.4, 0.5, 0.45), tick_age=timedelta(hours=5))
    assert market.last_tick_at is not None
    at = market.last_tick_at
    assert (
        check_data_freshness(session, settings=settings, now=at + timedelta(hours=6)).status == "ok"
    )
    late = at + timedelta(hours=6, seconds=1)
    assert check_data_freshness(session, settings=settings, now=late).status == "fail"
    tighter = settings.model_copy(update={"data_stale_after_hours": 1.0})
    assert check_data_freshness(session, settings=tighter, now=at + timedelta(hours=2)).status == (
        "fail"
    )
