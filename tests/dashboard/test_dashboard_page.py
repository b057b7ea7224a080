from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from edgewatch.clock import utcnow
from edgewatch.dashboard.router import age
from edgewatch.models import Market, OddsTick, PipelineRun, Signal


def _seed(session: Session) -> None:
    now = utcnow()
    market = Market(
        venue="kalshi",
        venue_market_id="KXRAIN-1",
        title="Will it rain in <Seattle> on Friday?",
        status="open",
        last_tick_at=now - timedelta(minutes=3),
    )
    quiet = Market(venue="polymarket", venue_market_id="0xabc", title="Quiet market")
    session.add_all([market, quiet])
    session.flush()
    session.add(
        OddsTick(market_id=market.id, tick_ts=market.last_tick_at, bid=0.615, ask=0.64, last=0.62)
    )
    session.add(
        Signal(
            market_id=market.id,
            signal_ts=now - timedelta(minutes=2),
            strategy="cross_venue_arbitrage",
            strategy_version="1",
            side="no",
            limit_price=0.36,
            size_hint=5.0,
            edge=0.0125,
            confidence=0.87,
            expires_at=now + timedelta(minutes=3),
            inputs={},
            dedupe_key="dash-1",
        )
    )
    session.add_all(
        [
            PipelineRun(
                pipeline="ingest",
                status="failed",
                started_at=now - timedelta(minutes=1),
                finished_at=now,
                rows_in=40,
                rows_stored=0,
                rows_rejected=2,
                error="kalshi answered 503",
            ),
            PipelineRun(
                pipeline="signals",
                status="succeeded",
                started_at=now - timedelta(minutes=1),
                finished_at=now,
                rows_in=12,
                rows_stored=1,
            ),
        ]
    )
    session.commit()


@pytest.mark.both_backends
def test_dashboard_shows_markets_signals_pipelines_and_readiness(
    client: TestClient, session: Session
) -> None:
    _seed(session)

    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    # Titles are escaped, never injected as markup.
    assert "Will it rain in &lt;Seattle&gt; on Friday?" in html
    assert "<Seattle>" not in html
    assert "Quiet market" in html and "no ticks" in html
    assert "0.615" in html and "0.640" in html
    assert "cross_venue_arbitrage" in html and "$0.0125" in html and "87%" in html
    assert "kalshi answered 503" in html
    assert "signals" in html and "ingest" in html
    assert "Readiness:" in html and "data_freshness" in html
    assert 'href="/docs"' in html
    assert "Not financial advice." in html
    assert "No signals yet" not in html


def test_empty_dashboard_says_what_to_do(client: TestClient) -> None:
    html = client.get("/").text

    assert "No signals yet — the signal pipeline runs after each ingest." in html
    assert "No pipeline has run yet" in html
    assert "No markets yet" in html
    assert "Not financial advice." in html


def test_stylesheet_is_served_locally_with_both_color_schemes(client: TestClient) -> None:
    page = client.get("/").text
    css = client.get("/static/dashboard.css")

    assert 'href="/static/dashboard.css"' in page
    assert "http://" not in page.split("<body>")[0] and "https://" not in page.split("<body>")[0]
    assert css.status_code == 200
    assert "prefers-color-scheme: dark" in css.text


def test_missing_static_file_is_a_problem_not_html(client: TestClient) -> None:
    response = client.get("/static/nope.css")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(5, "5 s"), (600, "10 min"), (7200, "2 h"), (3 * 86400, "3 d")],
)
def test_age_is_short_and_human(seconds: int, expected: str) -> None:
    now = utcnow()
    assert age(now - timedelta(seconds=seconds), now) == expected
    assert age(None, now) == "—"
