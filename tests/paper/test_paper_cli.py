"""``edgewatch paper``: create, list, show, order, kill-switch, run — from the shell."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db.session import session_scope
from edgewatch.models import AuditEntry, Market, OddsTick
from edgewatch.models.paper import PaperAccount, PaperFill
from edgewatch.paper.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(
    settings: Settings, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> sessionmaker[Session]:
    monkeypatch.setenv("EDGEWATCH_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("EDGEWATCH_DATA_DIR", str(settings.data_dir))
    return session_factory


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def quoted_market(factory: sessionmaker[Session], *, seconds_ago: float = 3) -> int:
    with session_scope(factory) as session:
        market = Market(
            venue="kalshi",
            venue_market_id=f"CLI-{utcnow().timestamp()}",
            title="Will the CLI work?",
            status="open",
            fee_schedule="kalshi",
        )
        session.add(market)
        session.flush()
        session.add(
            OddsTick(
                market_id=market.id,
                tick_ts=utcnow() - timedelta(seconds=seconds_ago),
                bid=0.41,
                ask=0.43,
                bid_size=500.0,
                ask_size=500.0,
            )
        )
        return market.id


def test_a_paper_session_from_the_shell(cli_env: sessionmaker[Session]) -> None:
    created = invoke("create", "desk", "--balance", "500", "--sizing", "signal", "--latency", "0")
    assert created.exit_code == 0, created.output
    assert "created paper account 1" in created.stdout
    market = quoted_market(cli_env)

    ordered = invoke("order", "1", "--market", str(market), "--side", "yes", "-q", "10")
    assert ordered.exit_code == 0, ordered.output
    assert "order 1: buy 10 YES" in ordered.stdout and "pending" in ordered.stdout
    # The next quote arrives after the order (no latency here): it fills at 0.43 + 0.01, with
    # the fee ceil(0.07·10·0.44·0.56 = 0.17248) = 0.18.
    with session_scope(cli_env) as session:
        session.add(
            OddsTick(
                market_id=market,
                tick_ts=utcnow(),
                bid=0.41,
                ask=0.43,
                bid_size=500.0,
                ask_size=500.0,
            )
        )
    ran = invoke("run")
    assert ran.exit_code == 0, ran.output
    assert "stepped 1 paper account(s)" in ran.stdout
    with session_scope(cli_env) as session:
        account = session.get_one(PaperAccount, 1)
        fills = session.query(PaperFill).all()
        actors = {e.actor for e in session.query(AuditEntry).all()}
    assert [(f.quantity, str(f.price.normalize()), str(f.fee.normalize())) for f in fills] == [
        (10, "0.44", "0.18")
    ]
    assert str(account.cash.normalize()) == "495.42"
    assert any(a.startswith("cli:") for a in actors)

    shown = invoke("show", "1", "--json")
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    assert document["account"]["cash"] == "495.42"
    assert document["positions"][0]["contracts"] == 10
    assert document["orders"][0]["status"] == "filled"

    listed = invoke("list")
    assert listed.exit_code == 0 and "desk" in listed.stdout

    on = invoke("kill-switch", "1", "on")
    assert on.exit_code == 0 and "kill switch ON" in on.stdout
    refused = invoke("order", "1", "--market", str(market), "--side", "yes", "-q", "1")
    assert refused.exit_code == 2
    assert "kill switch is on" in refused.stderr
    assert invoke("kill-switch", "1", "off").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "99"], "paper account 99 not found"),
        (["create", "x", "--balance", "lots"], "--balance must be a number"),
        (["create", "x", "--sizing", "martingale"], "--sizing must be 'kelly' or 'signal'"),
        (["create", "x", "--kelly-fraction", "3"], "kelly_fraction must be in (0, 1]"),
        (["kill-switch", "1", "maybe"], "must be 'on' or 'off'"),
        (["order", "1", "--market", "1", "--side", "up", "-q", "1"], "--side must be"),
        (["order", "1", "--market", "1", "--side", "yes", "-q", "1", "--limit", "2"], "--limit"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(
    cli_env: sessionmaker[Session], args: list[str], message: str
) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
