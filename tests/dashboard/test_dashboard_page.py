"""The overview page and what every page shares: escaping, local assets, errors, live panels."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from dashboard_seed import seed
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from edgewatch.clock import utcnow
from edgewatch.dashboard.templating import age
from edgewatch.models.alert import Alert
from edgewatch.models.quality import QualityFinding

ClientAs = Callable[[str | None], TestClient]


@pytest.mark.both_backends
def test_overview_shows_pipelines_freshness_signals_alerts_and_gaps(
    client: TestClient, session: Session
) -> None:
    seeded = seed(session)
    session.add(
        Alert(
            fingerprint="f" * 64,
            rule="EdgewatchPipelineFailing",
            kind="condition",
            labels={"pipeline": "ingest"},
            severity="critical",
            summary="Pipeline ingest is failing",
            description="",
        )
    )
    session.add(
        QualityFinding(
            market_id=seeded.kalshi.id,
            venue="kalshi",
            kind="stale_quote",
            start_ts=seeded.now - timedelta(hours=2),
            end_ts=seeded.now - timedelta(hours=1),
            tick_count=40,
            value=3600.0,
            detail="the same quote for 60 minutes",
        )
    )
    session.commit()

    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    # Titles are escaped, never injected as markup.
    assert "Will it rain in &lt;Seattle&gt; on Friday?" in html and "<Seattle>" not in html
    assert "kalshi answered 503" in html and "generate-signals" in html
    assert "Pipeline ingest is failing" in html
    assert "stale quote: <strong>1</strong>" in html and "the same quote for 60 minutes" in html
    assert f'href="/signals/{seeded.signal.id}"' in html and "$0.0125" in html and "87%" in html
    # Freshness per venue: both venues' newest tick is minutes old, well within the limit.
    freshness = html[html.index("freshness-title") : html.index("pipelines-title")]
    assert len(re.findall(r'<td class="num">\d+ min</td>', freshness)) == 2
    assert freshness.count('badge-ok">fresh') == 2
    # The gap: kalshi's mid 0.63 against 1 − 0.30 on the complement market.
    assert "-0.070" in html and f'href="/links/{seeded.link.id}"' in html
    assert "Not financial advice." in html
    assert 'hx-get="/overview/live"' in html


def test_live_panel_is_a_fragment_of_the_same_data(client: TestClient, session: Session) -> None:
    seed(session)
    fragment = client.get("/overview/live", headers={"HX-Request": "true"}).text
    assert "<html" not in fragment
    assert "kalshi answered 503" in fragment and "Seattle" in fragment


def test_empty_overview_says_what_to_do(client: TestClient) -> None:
    html = client.get("/").text

    assert "No signals yet — the signal pipeline runs after each ingest." in html
    assert "No pipeline has run yet" in html
    assert "No ticks stored yet" in html
    assert "No linked open markets with quotes yet" in html


def test_pages_load_only_local_assets_and_no_inline_script(client: TestClient) -> None:
    page = client.get("/").text
    head = page.split("<body>")[0]

    assert "http://" not in head and "https://" not in head
    for asset in (
        "/static/dashboard.css",
        "/static/dashboard.js",
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/uplot/uPlot.iife.min.js",
        "/static/vendor/uplot/uPlot.min.css",
        "/static/vendor/htmx/LICENSE",
        "/static/vendor/uplot/LICENSE",
    ):
        assert client.get(asset).status_code == 200, asset
    assert "prefers-color-scheme: dark" in client.get("/static/dashboard.css").text
    # Only JSON data islands may sit in the markup: a strict script-src allows nothing inline.
    assert "<script>" not in page and " onclick=" not in page and ' style="' not in page


def test_missing_static_file_is_a_problem_not_html(client: TestClient) -> None:
    response = client.get("/static/nope.css")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_unknown_market_is_a_not_found_page(client: TestClient) -> None:
    response = client.get("/markets/999999")
    assert response.status_code == 404
    assert "Market 999999 does not exist." in response.text and "<html" in response.text


def test_bad_filter_is_one_line_on_an_error_page(client: TestClient, session: Session) -> None:
    seed(session)
    response = client.get("/signals?min_confidence=lots")
    assert response.status_code == 422
    assert "min_confidence: &#39;lots&#39; is not a number" in response.text
    assert "Traceback" not in response.text


def test_anonymous_browser_is_sent_to_sign_in_and_back(client_as: ClientAs) -> None:
    response = client_as(None).get("/markets?q=rain")
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/login?next=%2Fmarkets%3Fq%3Drain"


def test_poll_with_an_ended_session_redirects_the_whole_page(
    client_as: ClientAs, settings: object
) -> None:
    anonymous = client_as(None)
    anonymous.cookies.set("edgewatch_session", "revoked-or-expired")
    response = anonymous.get(
        "/overview/live",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/signals?venue=kalshi"},
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/auth/login?next=%2Fsignals%3Fvenue%3Dkalshi"


def test_navigation_follows_the_role(client: TestClient, client_as: ClientAs) -> None:
    assert 'href="/admin"' in client.get("/").text
    viewer_page = client_as("viewer").get("/")
    assert viewer_page.status_code == 200 and 'href="/admin"' not in viewer_page.text
    refused = client_as("viewer").get("/admin")
    assert refused.status_code == 403 and "Not allowed" in refused.text


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(5, "5 s"), (600, "10 min"), (7200, "2 h"), (3 * 86400, "3 d")],
)
def test_age_is_short_and_human(seconds: int, expected: str) -> None:
    now = utcnow()
    assert age(now - timedelta(seconds=seconds), now) == expected
    assert age(None, now) == "—"
