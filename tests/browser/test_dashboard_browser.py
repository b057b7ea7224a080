"""The dashboard in a real browser (Debian's Chromium), against a live server on PostgreSQL.

Each test signs in as a role through the sign-in page and uses the dashboard as that person
would; the content is checked against the database and any browser console error fails the test.
The admin's tour writes the screenshots in docs/screenshots/ that docs/dashboard-guide.md shows.
"""

from __future__ import annotations

import re
import time
from decimal import Decimal

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from conftest import ConsoleWatch, LiveServer, SignIn, screenshot
from edgewatch.accounts import sessions
from edgewatch.clock import utcnow
from edgewatch.dashboard.templating import money
from edgewatch.models import (
    AuditEntry,
    BacktestRun,
    Market,
    MarketLink,
    PipelineRun,
    Signal,
    User,
)
from edgewatch.models.paper import PaperAccount


def _count(live_server: LiveServer, statement: object) -> int:
    with live_server.session_factory() as session:
        return int(session.scalar(statement) or 0)  # type: ignore[call-overload]


def _charts_drawn(page: Page, at_least: int) -> None:
    # uPlot draws into a canvas inside each chart container once dashboard.js has run.
    expect(page.locator(".chart canvas")).to_have_count(at_least, timeout=10_000)


def test_admin_visits_every_page_and_sees_the_database(
    page: Page, live_server: LiveServer, sign_in: SignIn
) -> None:
    sign_in(page, "admin")

    # Overview: pipelines, freshness per venue, newest signals, links with gaps.
    expect(page.get_by_role("heading", name="Pipelines: last runs")).to_be_visible()
    with live_server.session_factory() as session:
        pipelines = session.scalars(select(PipelineRun.pipeline).distinct()).all()
        venues = session.scalars(select(Market.venue).distinct()).all()
        newest_signal = session.scalars(select(Signal).order_by(Signal.id.desc())).first()
    for name in pipelines:
        expect(page.locator("#overview-live").get_by_text(name, exact=True).first).to_be_visible()
    for venue in venues:
        expect(page.locator("#overview-live .venue", has_text=venue).first).to_be_visible()
    assert newest_signal is not None
    expect(page.locator(f'a[href="/signals/{newest_signal.id}"]').first).to_be_visible()
    screenshot(page, "overview")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "overview-dark")
    page.emulate_media(color_scheme="light")

    # Markets: the table lists the first page of markets, by id, with a pager.
    page.get_by_role("link", name="Markets", exact=True).click()
    total = _count(live_server, select(func.count()).select_from(Market))
    rows = page.locator("section[aria-label='Market list'] tbody tr")
    expect(rows).to_have_count(min(total, 50))
    screenshot(page, "markets")
    page.get_by_label("Search titles").fill("Sim CPI")
    page.get_by_role("button", name="Filter").click()
    with live_server.session_factory() as session:
        cpi = session.scalars(
            select(Market).where(Market.title.ilike("%Sim CPI%")).order_by(Market.id)
        ).all()
    expect(rows).to_have_count(min(len(cpi), 50))

    # A linked market: its chart overlays the other venue and marks the signals.
    with live_server.session_factory() as session:
        market = session.scalars(
            select(Market)
            .join(Signal, Signal.market_id == Market.id)
            .join(MarketLink, MarketLink.market_a_id == Market.id)
            .order_by(Market.id)
        ).first()
    assert market is not None
    page.goto(f"/markets/{market.id}")
    expect(page.get_by_role("heading", name=market.title)).to_be_visible()
    _charts_drawn(page, 2)
    expect(page.locator(".u-legend")).to_contain_text(["mid"])
    screenshot(page, "market")
    page.get_by_role("link", name="24h").click()
    expect(page.get_by_text("1-minute candles")).to_be_visible()
    _charts_drawn(page, 2)

    # Signals: the feed, one signal with its inputs, the calibration page.
    page.get_by_role("link", name="Signals", exact=True).click()
    signals = _count(live_server, select(func.count()).select_from(Signal))
    expect(page.locator("#signal-rows tr")).to_have_count(min(signals, 50))
    screenshot(page, "signals")
    page.goto(f"/signals/{newest_signal.id}")
    expect(page.get_by_role("heading", name="Features and inputs it saw")).to_be_visible()
    for name in list(newest_signal.inputs)[:3]:
        expect(page.locator("code", has_text=re.compile(f"^{re.escape(name)}$"))).to_be_visible()
    screenshot(page, "signal")
    page.goto("/signals/calibration")
    expect(page.get_by_role("heading", name="Calibration and scores")).to_be_visible()
    screenshot(page, "calibration")

    # Links, backtests, admin pages and the guide.
    page.get_by_role("link", name="Links", exact=True).click()
    expect(page.get_by_role("button", name=f"Confirm link #{live_server.world.proposed_link_id}"))
    screenshot(page, "links")
    page.get_by_role("link", name="Backtests", exact=True).click()
    expect(
        page.get_by_role("link", name=f"#{live_server.world.backtest_run_id}", exact=True)
    ).to_be_visible()
    screenshot(page, "backtests")
    page.get_by_role("link", name=f"#{live_server.world.backtest_run_id}", exact=True).click()
    _charts_drawn(page, 2)
    with live_server.session_factory() as session:
        run = session.get_one(BacktestRun, live_server.world.backtest_run_id)
    expect(page.locator("table.metrics")).to_contain_text(money(Decimal(run.metrics["pnl"])))
    screenshot(page, "backtest")

    page.get_by_role("link", name="Admin", exact=True).click()
    page.get_by_role("link", name="Pipelines").click()
    expect(page.get_by_role("button", name="Run generate-signals now")).to_be_visible()
    screenshot(page, "admin-pipelines")
    page.goto("/admin/quarantine")
    rejected = _count(live_server, select(func.count()).select_from(PipelineRun))
    assert rejected > 0
    expect(page.locator("section[aria-label='Quarantined records'] tbody tr").first).to_be_visible()
    screenshot(page, "admin-quarantine")
    page.goto("/admin/models")
    expect(page.get_by_role("heading", name="Model registry")).to_be_visible()
    page.goto("/admin/users")
    for account in live_server.world.users.values():
        expect(page.get_by_role("button", name=f"Set role of {account.email}")).to_be_visible()
    screenshot(page, "admin-users")
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("grafana")
    page.get_by_role("button", name="Make key").click()
    expect(page.locator("#new-key")).to_contain_text("_")
    expect(page.get_by_role("button", name="Revoke grafana")).to_be_visible()
    screenshot(page, "account")
    page.get_by_role("link", name="Guide", exact=True).click()
    expect(page.get_by_role("heading", name="Disclaimers")).to_be_visible()


def test_anonymous_reader_sees_no_buttons_and_cannot_act(
    page: Page, live_server: LiveServer
) -> None:
    page.goto("/links")
    expect(page.get_by_text("Public read-only view")).to_be_visible()
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Confirm link"))).to_have_count(0)
    page.goto("/backtests")
    expect(page.get_by_role("button", name="Start backtest")).to_have_count(0)

    # The server refuses the action anyway, whatever the page shows.
    link_id = live_server.world.proposed_link_id
    response = page.request.post(f"/links/{link_id}/confirm", max_redirects=0)
    assert response.status in (303, 401)
    with live_server.session_factory() as session:
        assert session.get_one(MarketLink, link_id).status == "proposed"

    # Admin pages send an anonymous reader to sign in, and back after.
    page.goto("/admin/pipelines")
    expect(page).to_have_url(re.compile(r"/auth/login\?next=%2Fadmin%2Fpipelines$"))
    screenshot(page, "sign-in")


def test_viewer_signs_in_and_is_refused_what_the_role_cannot_do(
    page: Page, sign_in: SignIn, console: ConsoleWatch
) -> None:
    sign_in(page, "viewer")
    expect(page.locator("header .role")).to_have_text("viewer")
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    page.goto("/backtests")
    expect(page.get_by_role("button", name="Start backtest")).to_have_count(0)
    console.expected.append("status of 403")  # the refused page load below
    page.goto("/admin")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_analyst_starts_a_backtest_watches_it_finish_and_compares_it(
    page: Page, live_server: LiveServer, sign_in: SignIn
) -> None:
    sign_in(page, "analyst")
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    page.goto("/links")
    expect(page.get_by_role("button", name=re.compile("^Confirm link"))).to_have_count(0)

    page.goto("/backtests")
    page.get_by_text("Start a backtest").click()
    form = page.locator("form[action='/backtests'][method='post']")
    form.locator("select[name=strategy]").select_option("cross_venue_arbitrage")
    start, end = live_server.world.window
    page.get_by_label("From (UTC)").fill(start.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_label("To (UTC)").fill(end.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_label("Step (seconds)").fill("30")
    page.get_by_label("Seed").fill("11")
    page.get_by_role("button", name="Start backtest").click()

    page.wait_for_url(re.compile(r"/backtests/\d+$"))
    run_id = int(page.url.rsplit("/", 1)[1])
    # The page follows the run: progress while it runs, then the results without a reload.
    expect(page.get_by_role("heading", name="Metrics")).to_be_visible(timeout=60_000)
    with live_server.session_factory() as session:
        run = session.get_one(BacktestRun, run_id)
        assert (run.status, run.seed, run.config["step_seconds"]) == ("succeeded", 11, 30.0)
        assert (run.window_start, run.window_end) == (start, end)
    expect(page.locator("table.metrics")).to_contain_text(money(Decimal(run.metrics["pnl"])))
    _charts_drawn(page, 2)

    page.get_by_label("Compare with").select_option(str(live_server.world.backtest_run_id))
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", name=re.compile(f"Run #{run_id} vs run #"))).to_be_visible()
    _charts_drawn(page, 1)
    screenshot(page, "backtest-compare")


def test_admin_confirms_a_link_and_the_audit_log_names_them(
    page: Page, live_server: LiveServer, sign_in: SignIn
) -> None:
    sign_in(page, "admin")
    link_id = live_server.world.proposed_link_id
    page.goto(f"/links/{link_id}")
    page.get_by_role("button", name=f"Confirm link #{link_id}").click()
    expect(page.locator(".link-head .badge")).to_have_text("confirmed")

    with live_server.session_factory() as session:
        link = session.get_one(MarketLink, link_id)
        admin = session.scalars(
            select(User).where(User.email == live_server.world.users["admin"].email)
        ).one()
        entry = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "link.confirmed", AuditEntry.subject_id == str(link_id)
            )
        ).one()
    assert link.status == "confirmed"
    assert link.reviewed_by == entry.actor == admin.pseudonym


def test_overview_shows_a_new_signal_without_a_reload(
    page: Page, live_server: LiveServer, sign_in: SignIn
) -> None:
    sign_in(page, "viewer")
    with live_server.session_factory() as session:
        market = session.scalars(select(Market).order_by(Market.id)).first()
        assert market is not None
        signal = Signal(
            market_id=market.id,
            signal_ts=utcnow(),
            strategy="momentum",
            strategy_version="1",
            side="yes",
            limit_price=0.41,
            size_hint=3.0,
            edge=0.0321,
            confidence=0.66,
            expires_at=utcnow(),
            inputs={"note": "written by the browser test"},
            dedupe_key=f"browser-live-{time.time_ns()}",
        )
        session.add(signal)
        session.commit()
    expect(page.locator(f'#overview-live a[href="/signals/{signal.id}"]')).to_be_visible(
        timeout=15_000
    )


def test_expired_session_sends_the_page_to_sign_in_and_back(
    page: Page, live_server: LiveServer, sign_in: SignIn, console: ConsoleWatch
) -> None:
    sign_in(page, "analyst")
    page.goto("/signals")
    # The browser's own log line for the refused poll is expected here.
    console.expected.append("status of 401")
    with live_server.session_factory() as session:
        analyst = session.scalars(
            select(User).where(User.email == live_server.world.users["analyst"].email)
        ).one()
        sessions.revoke_all(session, analyst.id, now=utcnow())
        session.commit()
    # The next poll of the live feed finds the session gone and sends the whole page to sign in.
    page.wait_for_url(re.compile(r"/auth/login\?next=%2Fsignals"), timeout=20_000)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_analyst_trips_and_resets_the_paper_kill_switch(
    page: Page, live_server: LiveServer, sign_in: SignIn
) -> None:
    sign_in(page, "analyst")
    account_id = live_server.world.paper_account_id
    expect(page.locator("#overview-live").get_by_text("Paper P&L today")).to_be_visible()
    page.get_by_role("link", name="Paper", exact=True).click()
    page.get_by_role("link", name="Analyst's arbitrage book").click()
    expect(page).to_have_url(re.compile(f"/paper/{account_id}$"))
    state = page.locator("#kill-switch-state")
    expect(state).to_have_text("off")

    page.get_by_role("button", name="Trip kill switch").click()

    expect(state).to_have_text("on")
    expect(page.get_by_text(re.compile("Trading is stopped: turned on by"))).to_be_visible()
    with live_server.session_factory() as session:
        assert session.get_one(PaperAccount, account_id).kill_switch is True
    screenshot(page, "paper")

    page.get_by_role("button", name="Reset kill switch").click()

    expect(state).to_have_text("off")
    with live_server.session_factory() as session:
        assert session.get_one(PaperAccount, account_id).kill_switch is False
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_type == "paper_account")
        ).all()
    assert len([a for a in actions if "kill" in a]) == 2, actions


def test_paper_accounts_are_private_to_their_owner(
    page: Page, live_server: LiveServer, sign_in: SignIn, console: ConsoleWatch
) -> None:
    sign_in(page, "viewer")
    page.goto("/paper")
    expect(page.get_by_text("Analyst's arbitrage book")).to_have_count(0)
    console.expected.append("status of 404")
    page.goto(f"/paper/{live_server.world.paper_account_id}")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
