"""``edgewatch links ...`` through the Typer test runner, against a real database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from edgewatch.audit import service as audit
from edgewatch.config import Settings
from edgewatch.markets.cli import app
from edgewatch.models import AuditEntry, MarketLink

runner = CliRunner()


@pytest.fixture(autouse=True)
def _configured(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEWATCH_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("EDGEWATCH_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("COLUMNS", "200")


def test_propose_then_list_shows_both_titles(session: Session, catalogue: Any) -> None:
    catalogue.bitcoin_pair()

    proposed = runner.invoke(app, ["propose"])
    listed = runner.invoke(app, ["list", "--status", "proposed"])

    assert proposed.exit_code == 0, proposed.output
    assert "2 open markets, 1 proposals: 1 new" in proposed.output
    assert listed.exit_code == 0, listed.output
    assert "Bitcoin price above $64,000" in listed.output
    assert "Will the price of Bitcoin be above" in listed.output
    assert "same" in listed.output and "proposed" in listed.output
    assert "1 link(s)" in listed.output


def test_list_filters_by_venue_and_status(catalogue: Any) -> None:
    kalshi, poly = catalogue.bitcoin_pair()
    catalogue.link(kalshi, poly, status="confirmed")

    assert "0 link(s)" in runner.invoke(app, ["list", "--status", "proposed"]).output
    assert "0 link(s)" in runner.invoke(app, ["list", "--venue", "sim"]).output
    assert "1 link(s)" in runner.invoke(app, ["list", "--venue", "polymarket"]).output


def test_confirm_and_reject_are_audited(session: Session, catalogue: Any) -> None:
    kalshi, poly = catalogue.bitcoin_pair()
    link = catalogue.link(kalshi, poly)

    confirmed = runner.invoke(app, ["confirm", str(link.id), "--reviewer", "alice"])
    rejected = runner.invoke(app, ["reject", str(link.id), "--reason", "wrong date"])

    assert confirmed.exit_code == 0 and "confirmed" in confirmed.output
    assert rejected.exit_code == 0 and "rejected" in rejected.output
    session.expire_all()
    assert session.get_one(MarketLink, link.id).status == "rejected"
    entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert (entries[0].action, entries[0].actor) == ("link.confirmed", "alice")
    assert entries[1].action == "link.rejected" and entries[1].actor.startswith("cli:")
    assert entries[1].details["reason"] == "wrong date"
    assert audit.verify(session).ok


@pytest.mark.parametrize("command", ["confirm", "reject"])
def test_an_unknown_id_is_one_clear_line(command: str) -> None:
    result = runner.invoke(app, [command, "4242"])
    assert result.exit_code == 2
    assert result.output.strip() == "edgewatch: Link 4242 does not exist."


def test_a_bad_status_is_one_clear_line() -> None:
    result = runner.invoke(app, ["list", "--status", "maybe"])
    assert result.exit_code == 2
    assert "--status must be one of proposed, confirmed, rejected" in result.output


def test_a_malformed_overrides_file_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"pin": [{"a": "kalshi", "b": "polymarket:1"}]}))
    result = runner.invoke(app, ["propose", "--overrides", str(path)])
    assert result.exit_code == 2
    assert "expected 'venue:venue_market_id'" in result.output


def test_a_review_from_the_cli_makes_cached_link_answers_stale(
    settings: Settings, catalogue: Any
) -> None:
    """The API caches link and market answers under the ``markets`` data version; a review made
    here, in another process, must move it as a review through the API does."""
    from edgewatch import data_versions

    kalshi, poly = catalogue.bitcoin_pair()
    link = catalogue.link(kalshi, poly)
    directory = data_versions.versions_dir(settings)
    before = data_versions.read_file_versions(directory, ["markets"])

    confirmed = runner.invoke(app, ["confirm", str(link.id), "--reviewer", "alice"])
    after_confirm = data_versions.read_file_versions(directory, ["markets"])
    listed = runner.invoke(app, ["list"])

    assert confirmed.exit_code == 0, confirmed.output
    assert after_confirm != before
    assert data_versions.read_file_versions(directory, ["markets"]) == after_confirm, (
        "a read-only command must not invalidate the cache"
    )
    assert listed.exit_code == 0
