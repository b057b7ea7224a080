"""``/api/v1/paper``: accounts, manual orders, the kill switch, ledgers, ownership and refusals."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import StarletteDeprecationWarning

from edgewatch.api.app import create_app
from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.db.session import session_scope
from edgewatch.models import Market, OddsTick
from edgewatch.paper import service

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

BASE = "/api/v1/paper/accounts"


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client_as(
    app: FastAPI, credentials: Callable[..., dict[str, str]]
) -> Iterator[Callable[[str], TestClient]]:
    """``client_as("analyst")``: a client of the running app as a new user of that role."""
    clients: list[TestClient] = []

    def make(role: str) -> TestClient:
        client = TestClient(app, headers=credentials(role))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def add_market(
    factory: sessionmaker[Session],
    *,
    fee_schedule: str | None = "kalshi",
    quoted: datetime | None = None,
    ask: float = 0.43,
) -> int:
    """An open Kalshi market quoting 0.41 / ``ask`` (500 each side) at ``quoted`` (default now)."""
    with session_scope(factory) as session:
        market = Market(
            venue="kalshi",
            venue_market_id=f"K-{utcnow().timestamp()}-{ask}-{fee_schedule}",
            title="Will it rain?",
            status="open",
            fee_schedule=fee_schedule,
        )
        session.add(market)
        session.flush()
        add_tick(session, market.id, quoted or utcnow() - timedelta(seconds=5), ask=ask)
        return market.id


def add_tick(session: Session, market_id: int, at: datetime, *, ask: float = 0.43) -> None:
    session.add(
        OddsTick(
            market_id=market_id,
            tick_ts=at,
            bid=0.41,
            ask=ask,
            last=0.42,
            volume=0.0,
            bid_size=500.0,
            ask_size=500.0,
        )
    )


def problem(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith("/" + code), body
    detail: str = body["detail"]
    return detail


def open_account(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post(BASE, json={"name": "main", "starting_balance": "1000"} | fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_account_is_created_with_its_policy_and_seen_only_by_its_owner(
    client_as: Callable[[str], TestClient],
) -> None:
    alice, bob, admin = client_as("analyst"), client_as("analyst"), client_as("admin")
    created = open_account(
        alice, policy={"kelly_fraction": "0.5", "daily_loss_limit": None}, slippage="0.02"
    )
    assert created["cash"] == "1000" and created["equity"] == "1000" and created["pnl"] == "0"
    assert created["policy"]["kelly_fraction"] == "0.5"
    assert created["policy"]["daily_loss_limit"] is None
    assert created["slippage"] == "0.02"
    assert created["kill_switch"] == {"enabled": False, "reason": None, "at": None}
    account_id = created["id"]

    assert [a["id"] for a in alice.get(BASE).json()["items"]] == [account_id]
    assert bob.get(BASE).json()["items"] == []
    problem(bob.get(f"{BASE}/{account_id}"), 404, "not-found")
    problem(bob.get(f"{BASE}/{account_id}/orders"), 404, "not-found")
    problem(bob.post(f"{BASE}/{account_id}/kill-switch", json={"enabled": True}), 404, "not-found")
    assert admin.get(f"{BASE}/{account_id}").json()["owner_id"] == created["owner_id"]
    assert account_id in [a["id"] for a in admin.get(BASE).json()["items"]]


def test_a_viewer_may_read_but_not_trade(client_as: Callable[[str], TestClient]) -> None:
    viewer = client_as("viewer")
    assert viewer.get(BASE).status_code == 200
    assert viewer.post(BASE, json={"name": "x"}).status_code == 403


def test_a_manual_order_fills_on_the_next_quote_with_the_backtest_fees(
    client_as: Callable[[str], TestClient], session_factory: sessionmaker[Session]
) -> None:
    client = client_as("analyst")
    account_id = open_account(client)["id"]
    market = add_market(session_factory)
    response = client.post(
        f"{BASE}/{account_id}/orders",
        json={"market_id": market, "side": "yes", "quantity": 100, "limit_price": "0.45"},
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["status"], order["source"], order["limit_price"]) == ("pending", "manual", "0.45")
    arrives = datetime.fromisoformat(order["arrives_at"])
    # A quote after the order's arrival: ask 0.43 + 0.01 slippage = 0.44, fee ceil(1.7248) = 1.73.
    with session_scope(session_factory) as session:
        add_tick(session, market, arrives + timedelta(seconds=1))
    with session_scope(session_factory) as session:
        service.step_account(session, account_id, now=arrives + timedelta(seconds=5))

    (fill,) = client.get(f"{BASE}/{account_id}/fills").json()["items"]
    assert (fill["price"], fill["fee"], fill["quantity"], fill["cash_flow"]) == (
        "0.44",
        "1.73",
        100,
        "-45.73",
    )
    (order,) = client.get(f"{BASE}/{account_id}/orders").json()["items"]
    assert (order["status"], order["filled_quantity"]) == ("filled", 100)
    (position,) = client.get(f"{BASE}/{account_id}/positions").json()["items"]
    # Marked at the last mid, 0.42: worth 42, so −3.73 unrealised after the fee.
    assert (position["side"], position["contracts"], position["average_price"]) == (
        "yes",
        100,
        "0.44",
    )
    assert (position["mark_price"], position["value"], position["unrealised_pnl"]) == (
        "0.42",
        "42",
        "-3.73",
    )
    account = client.get(f"{BASE}/{account_id}").json()
    assert (account["cash"], account["equity"], account["unrealised_pnl"]) == (
        "954.27",
        "996.27",
        "-3.73",
    )
    (point,) = client.get(f"{BASE}/{account_id}/equity").json()["items"]
    assert point["equity"] == "996.27"


def test_selling_contracts_held_receives_the_bid_less_slippage_and_fee(
    client_as: Callable[[str], TestClient], session_factory: sessionmaker[Session]
) -> None:
    client = client_as("analyst")
    account_id = open_account(client)["id"]
    market = add_market(session_factory)
    for body in (
        {"market_id": market, "side": "yes", "quantity": 100},
        {"market_id": market, "side": "yes", "quantity": 40, "action": "sell"},
    ):
        order = client.post(f"{BASE}/{account_id}/orders", json=body)
        if body.get("action") == "sell":
            break
        arrives = datetime.fromisoformat(order.json()["arrives_at"])
        with session_scope(session_factory) as session:
            add_tick(session, market, arrives + timedelta(seconds=1))
        with session_scope(session_factory) as session:
            service.step_account(session, account_id, now=arrives + timedelta(seconds=2))
    assert order.status_code == 201, order.text
    arrives = datetime.fromisoformat(order.json()["arrives_at"])
    with session_scope(session_factory) as session:
        add_tick(session, market, arrives + timedelta(seconds=1))
    with session_scope(session_factory) as session:
        service.step_account(session, account_id, now=arrives + timedelta(seconds=2))
    # Sold 40 at bid 0.41 − 0.01 = 0.40, fee ceil(0.07·40·0.4·0.6 = 0.672) = 0.68.
    sale = client.get(f"{BASE}/{account_id}/fills").json()["items"][-1]
    assert (sale["action"], sale["price"], sale["fee"], sale["cash_flow"]) == (
        "sell",
        "0.4",
        "0.68",
        "15.32",
    )
    (position,) = client.get(f"{BASE}/{account_id}/positions").json()["items"]
    assert position["contracts"] == 60


def test_refused_orders_say_why(
    client_as: Callable[[str], TestClient], session_factory: sessionmaker[Session]
) -> None:
    client = client_as("analyst")
    account_id = open_account(client, starting_balance="100")["id"]
    orders = f"{BASE}/{account_id}/orders"
    live = add_market(session_factory)
    stale = add_market(session_factory, quoted=utcnow() - timedelta(hours=1))
    no_fees = add_market(session_factory, fee_schedule=None)

    problem(
        client.post(orders, json={"market_id": 10**9, "side": "yes", "quantity": 1}),
        404,
        "not-found",
    )
    detail = problem(
        client.post(orders, json={"market_id": stale, "side": "yes", "quantity": 1}),
        409,
        "no-quote",
    )
    assert "last quote" in detail
    problem(
        client.post(orders, json={"market_id": no_fees, "side": "yes", "quantity": 1}),
        422,
        "fee-unknown",
    )
    detail = problem(
        client.post(orders, json={"market_id": live, "side": "yes", "quantity": 900}),
        409,
        "insufficient-cash",
    )
    # At 0.44 (ask + slippage) with the fee priced where it peaks (0.5): 218 · 0.44 = 95.92 plus
    # ceil(0.07·218·0.25 = 3.815) = 3.82 is 99.74; 219 would need 100.20.
    assert "cash 100.00 pays for at most 218 contract(s) at 0.44" in detail
    problem(
        client.post(
            orders, json={"market_id": live, "side": "no", "quantity": 5, "action": "sell"}
        ),
        409,
        "nothing-to-sell",
    )
    for bad in ({"quantity": 0}, {"limit_price": "1.5"}, {"side": "maybe"}, {"extra": 1}):
        body = {"market_id": live, "side": "yes", "quantity": 1, **bad}
        assert client.post(orders, json=body).status_code == 422
    assert client.get(orders).json()["items"] == []  # nothing refused was stored


def test_the_kill_switch_cancels_pending_orders_and_refuses_new_ones(
    client_as: Callable[[str], TestClient], session_factory: sessionmaker[Session]
) -> None:
    client = client_as("analyst")
    account_id = open_account(client)["id"]
    market = add_market(session_factory)
    orders = f"{BASE}/{account_id}/orders"
    assert (
        client.post(orders, json={"market_id": market, "side": "yes", "quantity": 1}).status_code
        == 201
    )
    switched = client.post(f"{BASE}/{account_id}/kill-switch", json={"enabled": True}).json()
    assert switched["kill_switch"]["enabled"] is True
    (order,) = client.get(orders, params={"status": "cancelled"}).json()["items"]
    assert order["reason"] == "kill_switch"
    problem(
        client.post(orders, json={"market_id": market, "side": "yes", "quantity": 1}),
        409,
        "kill-switch-on",
    )
    client.post(f"{BASE}/{account_id}/kill-switch", json={"enabled": False})
    assert (
        client.post(orders, json={"market_id": market, "side": "yes", "quantity": 1}).status_code
        == 201
    )


def test_lists_are_paginated_and_bounded(
    client_as: Callable[[str], TestClient], session_factory: sessionmaker[Session]
) -> None:
    client = client_as("analyst")
    account_id = open_account(client)["id"]
    market = add_market(session_factory)
    orders = f"{BASE}/{account_id}/orders"
    for _ in range(3):
        client.post(orders, json={"market_id": market, "side": "yes", "quantity": 1})
    first = client.get(orders, params={"limit": 2}).json()
    second = client.get(orders, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert second["next_cursor"] is None
    assert client.get(orders, params={"limit": 0}).status_code == 422
    assert client.get(orders, params={"limit": 501}).status_code == 422
    assert client.get(orders, params={"cursor": "!!"}).status_code == 422
    assert client.get(orders, params={"status": "lost"}).status_code == 422
    assert client.get(f"{BASE}/0").status_code == 422


def test_bad_accounts_are_refused(client_as: Callable[[str], TestClient]) -> None:
    client = client_as("analyst")
    for bad in (
        {"name": ""},
        {"name": "x", "starting_balance": "-5"},
        {"name": "x", "starting_balance": "NaN"},
        {"name": "x", "policy": {"kelly_fraction": "2"}},
        {"name": "x", "strategies": ["Not A Name"]},
        {"name": "x", "policy": {"unknown": 1}},
    ):
        assert client.post(BASE, json=bad).status_code == 422, bad
    assert Decimal(open_account(client)["starting_balance"]) == Decimal(1000)
