"""Proposing, reviewing and overriding links against a real database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.audit import service as audit
from edgewatch.config import Settings
from edgewatch.db.session import session_scope
from edgewatch.errors import InvalidInput, NotFound
from edgewatch.jobs.runner import run_pipeline
from edgewatch.markets import links
from edgewatch.models import AuditEntry, MarketLink

pytestmark = pytest.mark.both_backends


def all_links(session: Session) -> list[MarketLink]:
    session.expire_all()
    return list(session.scalars(select(MarketLink).order_by(MarketLink.id)))


def audit_actions(session: Session) -> list[tuple[str, str, str]]:
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
    return [(e.action, e.actor, e.subject_id) for e in rows]


def test_matching_proposes_a_link_between_the_same_question_on_two_venues(
    session: Session, catalogue: Any
) -> None:
    kalshi, poly = catalogue.bitcoin_pair()
    catalogue.market("Will it snow in Miami on March 11?", venue="polymarket")
    catalogue.market("Bitcoin above $64,000 on Mar 11?", venue="kalshi", status="closed")

    run = links.run_matching(session)
    session.commit()

    (link,) = all_links(session)
    assert (link.market_a_id, link.market_b_id) == (kalshi.id, poly.id)
    assert (link.status, link.source, link.relation) == ("proposed", "matcher", "same")
    assert 0.7 <= link.confidence <= 1.0
    assert run.markets == 3 and run.added == 1


def test_a_second_run_changes_nothing(session: Session, catalogue: Any) -> None:
    catalogue.bitcoin_pair()
    links.run_matching(session)
    session.commit()
    before = [(link.id, link.confidence, link.status) for link in all_links(session)]

    run = links.run_matching(session)
    session.commit()

    assert [(link.id, link.confidence, link.status) for link in all_links(session)] == before
    assert (run.added, run.refreshed) == (0, 0)


@pytest.mark.parametrize("status", ["confirmed", "rejected"])
def test_proposals_never_overwrite_a_reviewed_link(
    session: Session, catalogue: Any, status: str
) -> None:
    kalshi, poly = catalogue.bitcoin_pair()
    # Stored the other way round and with another relation: still the same pair.
    catalogue.link(poly, kalshi, status=status, relation="complement", confidence=0.3)

    run = links.run_matching(session)
    session.commit()

    (link,) = all_links(session)
    assert (link.status, link.relation, link.confidence) == (status, "complement", 0.3)
    assert run.kept_reviewed == 1 and run.added == 0


def test_a_proposed_link_gets_the_fresh_score(session: Session, catalogue: Any) -> None:
    kalshi, poly = catalogue.bitcoin_pair()
    catalogue.link(kalshi, poly, confidence=0.51, relation="complement")

    run = links.run_matching(session)
    session.commit()

    (link,) = all_links(session)
    assert link.relation == "same" and link.confidence > 0.7 and link.status == "proposed"
    assert run.refreshed == 1


def test_review_actions_are_audited_and_the_chain_verifies(
    session_factory: sessionmaker[Session], session: Session, catalogue: Any
) -> None:
    kalshi, poly = catalogue.bitcoin_pair()
    first = catalogue.link(kalshi, poly)
    other = catalogue.market("Will the Fed cut rates in March?", venue="polymarket")
    second = catalogue.link(kalshi, other)

    with session_scope(session_factory) as tx:
        links.confirm(tx, first.id, reviewer="alice@example.com")
        links.confirm(tx, first.id, reviewer="alice@example.com")  # repeating changes nothing
    with session_scope(session_factory) as tx:
        links.reject(tx, second.id, reviewer="bob@example.com", reason="different question")

    confirmed, rejected = all_links(session)
    assert (confirmed.status, confirmed.reviewed_by) == ("confirmed", "alice@example.com")
    assert confirmed.reviewed_at is not None
    assert (rejected.status, rejected.reviewed_by) == ("rejected", "bob@example.com")
    assert audit_actions(session) == [
        ("link.confirmed", "alice@example.com", str(first.id)),
        ("link.rejected", "bob@example.com", str(second.id)),
    ]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "link.rejected")).one()
    assert entry.details["reason"] == "different question"
    assert entry.details["previous_status"] == "proposed"
    assert audit.verify(session).ok


def test_a_review_rolled_back_leaves_no_audit_entry(
    session_factory: sessionmaker[Session], session: Session, catalogue: Any
) -> None:
    link = catalogue.link(*catalogue.bitcoin_pair())

    with pytest.raises(RuntimeError), session_scope(session_factory) as tx:
        links.confirm(tx, link.id, reviewer="alice@example.com")
        raise RuntimeError("the request failed after the review")

    assert all_links(session)[0].status == "proposed"
    assert audit_actions(session) == []


def test_reviewing_an_unknown_link_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="Link 999 does not exist"):
        links.confirm(session, 999, reviewer="alice@example.com")
    with pytest.raises(NotFound):
        links.reject(session, 999, reviewer="alice@example.com")


def write_overrides(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_pin_confirms_the_pair_with_its_relation(
    session: Session, catalogue: Any, tmp_path: Path
) -> None:
    kalshi = catalogue.market(
        "Will the Fed hold rates in March?", venue="kalshi", venue_market_id="KXFED-HOLD"
    )
    poly = catalogue.market("Lakers win the title?", venue="polymarket", venue_market_id="777")
    path = write_overrides(
        tmp_path / "o.json",
        {
            "pin": [
                {
                    "a": "kalshi:KXFED-HOLD",
                    "b": "polymarket:777",
                    "relation": "complement",
                    "note": "checked by hand",
                }
            ]
        },
    )

    run = links.run_matching(session, overrides=links.load_overrides(path))
    session.commit()
    again = links.run_matching(session, overrides=links.load_overrides(path))
    session.commit()

    (link,) = all_links(session)
    assert (link.market_a_id, link.market_b_id) == (kalshi.id, poly.id)
    assert (link.status, link.relation, link.source) == ("confirmed", "complement", "overrides")
    assert link.reviewed_by == links.OVERRIDES_ACTOR
    assert (run.pinned, again.pinned) == (1, 0)
    assert [a for a, _, _ in audit_actions(session)] == ["link.pinned"]
    entry = session.scalars(select(AuditEntry)).one()
    assert entry.details["previous_status"] is None
    assert entry.details["note"] == "checked by hand"
    assert audit.verify(session).ok


def test_a_pin_overrides_an_existing_proposal(
    session: Session, catalogue: Any, tmp_path: Path
) -> None:
    kalshi, poly = catalogue.bitcoin_pair()
    catalogue.link(poly, kalshi, relation="complement")
    path = write_overrides(
        tmp_path / "o.json",
        {"pin": [{"a": "kalshi:KXBTCD-26MAR11-T64000", "b": "polymarket:825553650639"}]},
    )

    links.run_matching(session, overrides=links.load_overrides(path))
    session.commit()

    (link,) = all_links(session)
    assert (link.status, link.relation) == ("confirmed", "same")


def test_a_block_rejects_the_pair_and_keeps_it_from_being_proposed(
    session: Session, catalogue: Any, tmp_path: Path
) -> None:
    catalogue.bitcoin_pair()
    block = {"a": "polymarket:825553650639", "b": "kalshi:KXBTCD-26MAR11-T64000"}
    path = write_overrides(tmp_path / "o.json", {"block": [block]})

    run = links.run_matching(session, overrides=links.load_overrides(path))
    session.commit()

    assert all_links(session) == []
    assert run.blocked_proposals == 1


def test_a_block_rejects_an_existing_link(session: Session, catalogue: Any, tmp_path: Path) -> None:
    kalshi, poly = catalogue.bitcoin_pair()
    catalogue.link(kalshi, poly, status="confirmed")
    block = {"a": "kalshi:KXBTCD-26MAR11-T64000", "b": "polymarket:825553650639", "note": "UMA"}
    path = write_overrides(tmp_path / "o.json", {"block": [block]})

    run = links.run_matching(session, overrides=links.load_overrides(path))
    session.commit()

    (link,) = all_links(session)
    assert link.status == "rejected" and run.blocked == 1
    assert audit_actions(session) == [("link.blocked", links.OVERRIDES_ACTOR, str(link.id))]


def test_overrides_naming_unknown_markets_are_reported_not_fatal(
    session: Session, tmp_path: Path
) -> None:
    path = write_overrides(tmp_path / "o.json", {"pin": [{"a": "kalshi:X", "b": "polymarket:Y"}]})
    run = links.run_matching(session, overrides=links.load_overrides(path))
    assert run.unresolved == ["kalshi:X", "polymarket:Y"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "not JSON"),
        ('{"pins": []}', "expected an object with 'pin' and/or 'block'"),
        ('{"pin": [{"a": "kalshi-X", "b": "polymarket:Y"}]}', "expected 'venue:venue_market_id'"),
        ('{"pin": [{"a": "kalshi:X", "b": "kalshi:Y"}]}', "two different venues"),
        ('{"pin": [{"a": "kalshi:X", "b": "polymarket:Y", "relation": "inverse"}]}', "relation"),
        (
            '{"pin": [{"a": "kalshi:X", "b": "polymarket:Y"}],'
            ' "block": [{"a": "polymarket:Y", "b": "kalshi:X"}]}',
            "both pinned and blocked",
        ),
    ],
)
def test_a_malformed_overrides_file_names_the_problem(
    tmp_path: Path, document: str, message: str
) -> None:
    path = tmp_path / "overrides.json"
    path.write_text(document, encoding="utf-8")
    with pytest.raises(InvalidInput, match=message) as caught:
        links.load_overrides(path)
    assert str(path) in caught.value.message


def test_a_missing_overrides_file_means_no_overrides(tmp_path: Path) -> None:
    assert links.load_overrides(tmp_path / "absent.json") == links.LinkOverrides()


def test_the_pipeline_step_reads_overrides_from_the_data_directory(
    settings: Settings, engine: Engine, session: Session, catalogue: Any
) -> None:
    kalshi, _ = catalogue.bitcoin_pair()
    other = catalogue.market("Lakers win the title?", venue="polymarket", venue_market_id="777")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    write_overrides(
        links.default_overrides_path(settings),
        {"pin": [{"a": "kalshi:KXBTCD-26MAR11-T64000", "b": "polymarket:777"}]},
    )

    run = run_pipeline("match-markets", links.match_markets_step, settings=settings, engine=engine)

    assert run.status == "succeeded", run.error
    assert run.details["pinned"] == 1
    assert run.rows_in == 3
    stored = {(link.market_a_id, link.market_b_id, link.status) for link in all_links(session)}
    assert (kalshi.id, other.id, "confirmed") in stored
