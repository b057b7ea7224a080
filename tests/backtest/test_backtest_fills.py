"""The fill model and the ledger on their own, as paper trading will use them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from edgewatch.backtest import FillConfig, Order, Portfolio, Quote, fill_order
from edgewatch.backtest.fills import Fill, Rejection
from edgewatch.errors import InvalidInput

from .support import KALSHI, POLYMARKET, at

CONFIG = FillConfig(slippage=Decimal("0.01"), latency=timedelta(seconds=2))
QUOTE = Quote(1, at(5), bid=0.40, ask=0.42, bid_size=80, ask_size=50)


def order(side: str, *, action: str = "buy", quantity: int = 100, limit: str = "1") -> Order:
    minimum = action == "sell"
    return Order(
        market_id=1,
        side=side,  # type: ignore[arg-type]
        quantity=quantity,
        limit_price=Decimal("0") if minimum and limit == "1" else Decimal(limit),
        submitted_at=at(0),
        action=action,  # type: ignore[arg-type]
        expires_at=at(60),
    )


def test_buying_no_pays_one_minus_the_bid_plus_slippage_limited_by_bid_size() -> None:
    fill = fill_order(order("no"), QUOTE, market=KALSHI, config=CONFIG)
    assert isinstance(fill, Fill)
    # 1 − 0.40 + 0.01 = 0.61, 80 shown; fee ceil(0.07·80·0.61·0.39 = 1.33224) = 1.34.
    assert (fill.price, fill.quote_price, fill.quantity, fill.fee) == (
        Decimal("0.61"),
        Decimal("0.60"),
        80,
        Decimal("1.34"),
    )
    assert fill.cash_flow == Decimal("-50.14")


def test_selling_yes_receives_the_bid_less_slippage() -> None:
    fill = fill_order(order("yes", action="sell", quantity=10), QUOTE, market=KALSHI, config=CONFIG)
    assert isinstance(fill, Fill)
    # 0.40 − 0.01 = 0.39; fee ceil(0.07·10·0.39·0.61 = 0.16653) = 0.17; 3.90 − 0.17.
    assert (fill.price, fill.fee, fill.cash_flow) == (
        Decimal("0.39"),
        Decimal("0.17"),
        Decimal("3.73"),
    )


def test_a_sell_below_its_minimum_does_not_fill() -> None:
    result = fill_order(
        order("yes", action="sell", quantity=10, limit="0.40"), QUOTE, market=KALSHI, config=CONFIG
    )
    assert isinstance(result, Rejection) and result.reason == "limit"


def test_expired_orders_do_not_fill() -> None:
    late = Quote(1, at(61), bid=0.40, ask=0.42, bid_size=80, ask_size=50)
    result = fill_order(order("yes"), late, market=KALSHI, config=CONFIG)
    assert isinstance(result, Rejection) and result.reason == "expired"


def test_a_quote_before_arrival_is_refused() -> None:
    early = Quote(1, at(1), bid=0.40, ask=0.42, bid_size=80, ask_size=50)
    with pytest.raises(InvalidInput):
        fill_order(order("yes"), early, market=KALSHI, config=CONFIG)


def test_no_displayed_size_fills_nothing_unless_size_is_ignored() -> None:
    blind = Quote(1, at(5), bid=0.40, ask=0.42)
    assert isinstance(fill_order(order("yes"), blind, market=KALSHI, config=CONFIG), Rejection)
    loose = FillConfig(
        slippage=Decimal("0.01"), latency=timedelta(seconds=2), limit_to_displayed_size=False
    )
    fill = fill_order(order("yes"), blind, market=KALSHI, config=loose)
    assert isinstance(fill, Fill) and fill.quantity == 100


def test_polymarket_fee_rounds_to_five_decimals() -> None:
    quote = Quote(2, at(5), bid=0.333, ask=0.337, bid_size=1000, ask_size=1000)
    buy = Order(2, "yes", 7, Decimal("1"), at(0))
    fill = fill_order(buy, quote, market=POLYMARKET, config=CONFIG)
    assert isinstance(fill, Fill)
    # 7 × 0.02 × 0.347 × 0.653 = 0.031723...; to 5 decimals 0.03172.
    assert (fill.price, fill.fee) == (Decimal("0.347"), Decimal("0.03172"))


def test_orders_are_validated() -> None:
    with pytest.raises(InvalidInput):
        Order(1, "yes", 0, Decimal("0.5"), at(0))
    with pytest.raises(InvalidInput):
        Order(1, "yes", 1, Decimal("1.5"), at(0))


def _fill(side: str, quantity: int, price: str, fee: str, *, action: str = "buy") -> Fill:
    return Fill(
        market_id=1,
        side=side,  # type: ignore[arg-type]
        action=action,  # type: ignore[arg-type]
        quantity=quantity,
        requested=quantity,
        price=Decimal(price),
        quote_price=Decimal(price),
        fee=Decimal(fee),
        filled_at=at(quantity),
        submitted_at=at(0),
    )


def test_a_fill_through_zero_closes_one_trade_and_opens_the_next() -> None:
    book = Portfolio(Decimal(100))
    book.apply(_fill("yes", 10, "0.40", "0.10"))
    book.apply(_fill("no", 30, "0.50", "0.30"))
    # 10 pairs pay $10; a third of the NO order (price 5.00, fee 0.10) closes the YES trade.
    (closed,) = book.trades
    assert closed.pnl == Decimal("-4.00") - Decimal("0.10") - Decimal("5.00") - Decimal("0.10") + 10
    assert book.held(1) == ("no", 20)
    assert book.positions[1].cost == Decimal("10.00")
    assert book.cash == Decimal(100) - Decimal("4.10") - Decimal("15.30") + 10


def test_selling_what_is_held_closes_the_trade() -> None:
    book = Portfolio(Decimal(100))
    book.apply(_fill("yes", 10, "0.40", "0.10"))
    book.apply(_fill("yes", 10, "0.55", "0.10", action="sell"))
    (trade,) = book.trades
    assert (trade.pnl, trade.how, trade.fees) == (Decimal("1.30"), "sold", Decimal("0.20"))
    with pytest.raises(InvalidInput):
        book.apply(_fill("yes", 1, "0.55", "0.01", action="sell"))
