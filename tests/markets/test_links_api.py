"""``/api/v1/links``: listing with filters and cursors, detail side by side, review routes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from edgewatch.audit import service as audit
from edgewatch.models import AuditEntry

pytestmark = pytest.mark.both_backends


def test_links_list_filters_and_pages(client: TestClient, catalogue: Any) -> None:
    kalshi, poly = catalogue.bitcoin_pair()
    others = [catalogue.market(f"Question {n}?", venue="polymarket") for n in range(4)]
    ids = [catalogue.link(kalshi, poly, confidence=0.95).id]
    ids += [catalogue.link(kalshi, m, confidence=0.6, status="rejected").id for m in others]

    first = client.get("/api/v1/links", params={"limit": 2}).json()
    second = client.get("/api/v1/links", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    confident = client.get("/api/v1/links", params={"min_confidence": 0.9}).json()
    rejected = client.get("/api/v1/links", params={"status": "rejected", "venue": "kalshi"}).json()

    assert [i["id"] for i in first["items"] + second["items"]] == ids[:4]
    assert [i["id"] for i in confident["items"]] == ids[:1]
    assert confident["items"][0]["market_a"]["title"] == kalshi.title
    assert confident["items"][0]["market_b"]["venue"] == "polymarket"
    assert len(rejected["items"]) == 4 and rejected["next_cursor"] is None


def test_bad_list_parameters_are_problems(client: TestClient) -> None:
    assert client.get("/api/v1/links", params={"status": "maybe"}).status_code == 422
    assert client.get("/api/v1/links", params={"min_confidence": 2}).status_code == 422
    response = client.get("/api/v1/links", params={"cursor": "!!"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_link_detail_shows_both_markets_and_the_reasons(client: TestClient, catalogue: Any) -> None:
    kalshi, poly = catalogue.bitcoin_pair()
    catalogue.quote(poly, 0.41, 0.43)
    link = catalogue.link(kalshi, poly, confidence=0.9)

    body = client.get(f"/api/v1/links/{link.id}").json()

    assert body["market_a"]["title"] == kalshi.title
    assert body["market_a"]["rules"].startswith("If the BTC price")
    assert body["market_a"]["bid"] is None
    assert (body["market_b"]["bid"], body["market_b"]["ask"]) == (0.41, 0.43)
    assert body["market_b"]["close_time"] == "2026-03-11T16:00:00Z"
    assert body["confidence"] == 0.9 and body["matcher_relation"] == "same"
    signals = {reason["signal"]: reason for reason in body["reasons"]}
    assert signals["thresholds"]["verdict"] == "match"
    assert 0 <= body["matcher_confidence"] <= 1


def test_confirm_and_reject_routes_audit_the_review(
    client: TestClient, catalogue: Any, session: Session
) -> None:
    link = catalogue.link(*catalogue.bitcoin_pair())

    confirmed = client.post(f"/api/v1/links/{link.id}/confirm")
    rejected = client.post(f"/api/v1/links/{link.id}/reject", json={"reason": "rules differ"})

    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    reviewer = rejected.json()["reviewed_by"]
    assert reviewer.startswith("user:") and "@" not in reviewer  # the pseudonym, not the email
    entries = list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("link.%")).order_by(AuditEntry.id)
        )
    )
    assert [e.action for e in entries] == ["link.confirmed", "link.rejected"]
    assert {e.actor for e in entries} == {reviewer}
    assert entries[1].details["reason"] == "rules differ"
    assert audit.verify(session).ok


def test_reject_without_a_body_is_allowed(client: TestClient, catalogue: Any) -> None:
    link = catalogue.link(*catalogue.bitcoin_pair())
    assert client.post(f"/api/v1/links/{link.id}/reject").json()["status"] == "rejected"


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ""), ("post", "/confirm"), ("post", "/reject")],
)
def test_an_unknown_link_is_a_404_problem(client: TestClient, method: str, path: str) -> None:
    response = getattr(client, method)(f"/api/v1/links/999{path}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "Link 999 does not exist."


def test_a_too_long_reason_is_a_422(client: TestClient, catalogue: Any) -> None:
    link = catalogue.link(*catalogue.bitcoin_pair())
    response = client.post(f"/api/v1/links/{link.id}/reject", json={"reason": "x" * 1001})
    assert response.status_code == 422


def test_links_routes_are_documented_with_problem_responses(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/api/v1/links"]["get"]["summary"]
    for path, method in [
        ("/api/v1/links/{link_id}", "get"),
        ("/api/v1/links/{link_id}/confirm", "post"),
        ("/api/v1/links/{link_id}/reject", "post"),
    ]:
        operation = paths[path][method]
        assert operation["summary"], path
        assert "application/problem+json" in operation["responses"]["404"]["content"], path
