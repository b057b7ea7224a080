"""Markets, links, signals, backtests and admin pages: content, filters, paging and actions."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from dashboard_seed import seed
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from edgewatch.clock import utcnow
from edgewatch.models import (
    ApiKey,
    AuditEntry,
    BacktestRun,
    Market,
    MarketLink,
    PipelineRun,
    User,
)
from edgewatch.models.paper import PaperAccount
from edgewatch.paper import service as paper_service

ClientAs = Callable[[str | None], TestClient]


def chart_data(html: str, chart_id: str) -> dict[str, object]:
    match = re.search(rf'<script type="application/json" id="{chart_id}-data">(.*?)</script>', html)
    assert match, f"no {chart_id} chart on the page"
    data: dict[str, object] = json.loads(match.group(1))
    return data


@pytest.mark.both_backends
def test_market_search_filters_and_pages(client: TestClient, session: Session) -> None:
    session.add_all(
        Market(venue="kalshi" if n % 2 else "polymarket", venue_market_id=f"M{n}", title=f"Q {n}")
        for n in range(120)
    )
    session.add(Market(venue="kalshi", venue_market_id="RAIN", title="Rain in Rome?"))
    session.commit()

    first = client.get("/markets?venue=kalshi").text
    assert first.count('<tr>\n        <td><span class="venue">kalshi') == 50
    assert "polymarket</span></td>" not in first
    next_url = re.search(r'href="([^"]+)" rel="next"', first)
    assert next_url
    second = client.get(next_url.group(1).replace("&amp;", "&")).text
    assert second.count('<span class="venue">kalshi') == 11  # 61 kalshi markets in all
    assert 'rel="next"' not in second

    found = client.get("/markets?q=rome").text
    assert "Rain in Rome?" in found and "Q 1<" not in found
    assert "No market matches these filters" in client.get("/markets?q=nowhere").text


def test_market_page_draws_both_venues_and_the_signal(client: TestClient, session: Session) -> None:
    seeded = seed(session)

    html = client.get(f"/markets/{seeded.kalshi.id}").text

    price = chart_data(html, "price")
    labels = [series["label"] for series in price["series"]]  # type: ignore[index, union-attr]
    assert labels[:3] == ["Bid", "Ask", "Last"]
    assert "polymarket mid (as 1 − mid)" in labels
    values = {s["label"]: s["values"] for s in price["series"]}  # type: ignore[index, union-attr]
    overlay = [v for v in values["polymarket mid (as 1 − mid)"] if v is not None]
    assert overlay and all(abs(v - 0.70) < 1e-9 for v in overlay)
    # The NO signal at 0.36 sits at 1 − 0.36 on the YES scale.
    assert [v for v in values["Signal: buy NO"] if v is not None] == [pytest.approx(0.64)]
    volume = chart_data(html, "volume")
    traded = [v for v in volume["series"][0]["values"] if v is not None]  # type: ignore[index]
    assert traded == [5.0] * 9  # cumulative volume 100, 105, … traded 5 each step
    assert "Resolves YES if the airport reports any rain." in html
    assert "1-minute candles" in client.get(f"/markets/{seeded.kalshi.id}?range=24h").text
    assert client.get(f"/markets/{seeded.kalshi.id}?range=9y").status_code == 422


def test_admin_confirms_and_rejects_links_with_audit(
    client: TestClient, client_as: ClientAs, session: Session
) -> None:
    seeded = seed(session)
    listing = client.get("/links").text
    assert f"Confirm link #{seeded.link.id}" in listing
    assert "Seattle rain on Friday?" in listing and "complement" in listing

    analyst = client_as("analyst")
    assert f"Confirm link #{seeded.link.id}" not in analyst.get("/links").text
    refused = analyst.post(f"/links/{seeded.link.id}/confirm")
    assert refused.status_code == 403

    done = client.post(
        f"/links/{seeded.link.id}/reject",
        data={"reason": "different deadline", "back": "/links"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/links"
    session.expire_all()
    link = session.get_one(MarketLink, seeded.link.id)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "link.rejected")).one()
    assert link.status == "rejected" and link.reviewed_by == entry.actor
    assert entry.details["reason"] == "different deadline"
    # Only local paths are followed back: no open redirect through the form.
    elsewhere = client.post(
        f"/links/{seeded.link.id}/confirm",
        data={"back": "//evil.example/"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == f"/links/{seeded.link.id}"


def test_signals_filter_feed_and_detail(client: TestClient, session: Session) -> None:
    seeded = seed(session)

    assert "Will it rain" in client.get("/signals?strategy=cross_venue_arbitrage").text
    assert "No signal matches these filters" in client.get("/signals?min_edge=0.5").text
    feed = client.get("/signals/feed?min_confidence=0.8", headers={"HX-Request": "true"}).text
    assert "<html" not in feed and f"/signals/{seeded.signal.id}" in feed
    detail = client.get(f"/signals/{seeded.signal.id}").text
    assert "<code>gap</code>" in detail and "0.0612" in detail
    assert "Not scored yet" in detail
    assert client.get("/signals?strategy=astrology").status_code == 422
    assert "No signal has been scored yet" in client.get("/signals/calibration").text


def test_backtest_form_refuses_bad_input_in_one_line(client: TestClient, session: Session) -> None:
    seed(session)
    bad = client.post(
        "/backtests", data={"strategy": "momentum", "params": "{not json"}, follow_redirects=False
    )
    assert bad.status_code == 422 and "params: not JSON" in bad.text
    unknown = client.post("/backtests", data={"strategy": "momentum", "params": '{"colour": 1}'})
    assert unknown.status_code == 422 and "unknown parameter(s) colour" in unknown.text
    assert session.scalars(select(BacktestRun)).first() is None


def test_backtest_started_from_the_form_runs_and_its_page_follows_it(
    client: TestClient, client_as: ClientAs, session: Session
) -> None:
    seed(session)
    assert client_as("viewer").post("/backtests", data={"strategy": "momentum"}).status_code == 403

    started = client.post(
        "/backtests",
        data={"strategy": "momentum", "seed": "4", "step_seconds": "30", "params": ""},
        follow_redirects=False,
    )

    assert started.status_code == 303
    run_id = int(started.headers["location"].rsplit("/", 1)[1])
    # The test client runs background tasks before returning: the run has finished.
    run = session.get_one(BacktestRun, run_id)
    assert (run.status, run.seed) == ("succeeded", 4)
    progress = client.get(f"/backtests/{run_id}/progress", headers={"HX-Request": "true"})
    assert progress.headers["HX-Refresh"] == "true"
    page = client.get(f"/backtests/{run_id}").text
    assert "Metrics" in page and "hx-get" not in page.split("</header>")[1]


def test_admin_runs_a_pipeline_and_sees_quarantine_and_models(
    client: TestClient, session: Session
) -> None:
    page = client.get("/admin/pipelines").text
    assert "Run match-markets now" in page and "Run ingest-sim now" in page

    started = client.post("/admin/pipelines/match-markets/run", follow_redirects=False)

    assert started.headers["location"] == "/admin/pipelines?started=match-markets"
    run = session.scalars(select(PipelineRun).where(PipelineRun.pipeline == "match-markets")).one()
    assert run.status == "succeeded"
    assert client.post("/admin/pipelines/nonsense/run").status_code == 404
    assert "Nothing quarantined" in client.get("/admin/quarantine").text
    empty_registry = client.get("/admin/models").text
    assert "No model has been trained yet" in empty_registry
    # The empty state names each command once, with its real arguments.
    assert empty_registry.count("edgewatch models train --name &lt;name&gt; --activate") == 1
    assert empty_registry.count("edgewatch models activate &lt;name&gt; &lt;version&gt;") == 1


def test_paper_page_shows_the_account_and_the_kill_switch_needs_paper_trade(
    client: TestClient, client_as: ClientAs, session: Session
) -> None:
    account = paper_service.create_account(
        session,
        paper_service.AccountSettings(name="Desk A", starting_balance=Decimal(2500)),
        owner_id=None,
        actor="test",
        now=utcnow(),
    )
    session.commit()

    listing = client.get("/paper").text
    assert "Desk A" in listing and "$2,500.00" in listing
    assert "Trip kill switch" in client.get(f"/paper/{account.id}").text
    # A viewer sees neither someone else's account nor the switch.
    assert client_as("viewer").get(f"/paper/{account.id}").status_code == 404
    refused = client_as("viewer").post(f"/paper/{account.id}/kill-switch", data={"enabled": "on"})
    assert refused.status_code == 403

    tripped = client.post(
        f"/paper/{account.id}/kill-switch", data={"enabled": "on"}, follow_redirects=False
    )

    assert tripped.status_code == 303
    session.expire_all()
    assert session.get_one(PaperAccount, account.id).kill_switch is True
    assert "Reset kill switch" in client.get(f"/paper/{account.id}").text
    assert (
        client.post(f"/paper/{account.id}/kill-switch", data={"enabled": "maybe"}).status_code
        == 422
    )


def test_own_api_keys_are_made_shown_once_and_revoked(client: TestClient, session: Session) -> None:
    page = client.get("/account").text
    assert "tests" in page and "Make key" in page

    made = client.post("/account/keys", data={"name": "notebook", "scopes": ["read"]})

    assert made.status_code == 200
    secret = re.search(r'<pre class="payload" id="new-key">([^<]+)</pre>', made.text)
    assert secret
    key = session.scalars(select(ApiKey).where(ApiKey.name == "notebook")).one()
    assert key.scopes == ["read"] and secret.group(1).startswith(key.prefix)
    assert secret.group(1) not in client.get("/account").text  # shown once only
    assert client.post("/account/keys", data={"name": "", "scopes": ["read"]}).status_code == 422

    client.post(f"/account/keys/{key.id}/revoke")

    session.expire_all()
    assert session.get_one(ApiKey, key.id).revoked_at is not None


def test_admin_changes_a_role_and_a_viewer_cannot(
    client: TestClient, client_as: ClientAs, session: Session
) -> None:
    viewer = client_as("viewer")
    assert viewer.get("/admin/users").status_code == 403
    user = session.scalars(select(User).where(User.role == "viewer")).one()
    assert f"Set role of {user.email}" in client.get("/admin/users").text

    changed = client.post(f"/admin/users/{user.id}/role", data={"role": "analyst"})

    assert changed.status_code == 200  # followed back to the user list
    session.expire_all()
    assert session.get_one(User, user.id).role == "analyst"
    assert client.post(f"/admin/users/{user.id}/role", data={"role": "owner"}).status_code == 422
