"""The policy's sizing, figured by hand: fractional Kelly, confidence, caps, declines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgewatch.backtest.fills import Fill
from edgewatch.backtest.portfolio import Portfolio
from edgewatch.errors import InvalidInput
from edgewatch.paper.policy import Policy, bankroll, daily_loss_exceeded, exposure
from edgewatch.strategies.base import ProposedSignal

T0 = datetime(2026, 1, 1, tzinfo=UTC)
QUARTER = Policy(
    min_confidence=0.5,
    kelly_fraction=Decimal("0.25"),
    max_market_exposure=Decimal(10**6),
    max_total_exposure=Decimal(10**6),
)


def signal(
    *,
    limit: float = 0.40,
    edge: float = 0.06,
    confidence: float = 0.8,
    size: float = 1_000,
    market: int = 1,
) -> ProposedSignal:
    return ProposedSignal(
        signal_ts=T0,
        market_id=market,
        side="yes",
        limit_price=limit,
        size_hint=size,
        edge=edge,
        confidence=confidence,
        expires_at=T0 + timedelta(minutes=5),
        dedupe_key="k",
    )


def holding(cash: Decimal, *, market: int, contracts: int, price: Decimal) -> Portfolio:
    """A portfolio that bought ``contracts`` YES of ``market`` at ``price`` without fees."""
    portfolio = Portfolio(cash + price * contracts)
    portfolio.apply(
        Fill(market, "yes", "buy", contracts, contracts, price, price, Decimal(0), T0, T0)
    )
    return portfolio


def test_quarter_kelly_on_a_thousand_dollars() -> None:
    # f = 0.25 · 0.8 · 0.06 / (1 − 0.40) = 0.02 → stake $20 → 20 / 0.40 = 50 contracts.
    assert QUARTER.size(signal(), Portfolio(Decimal(1000))) == 50


def test_the_stake_scales_with_the_bankroll_at_cost() -> None:
    # $900 cash plus 250 contracts that cost $100: bankroll $1,000 → the same 50 contracts.
    portfolio = holding(Decimal(900), market=2, contracts=250, price=Decimal("0.40"))
    assert bankroll(portfolio) == Decimal(1000)
    assert exposure(portfolio) == Decimal(100)
    assert QUARTER.size(signal(), portfolio) == 50


def test_half_kelly_at_full_confidence() -> None:
    # f = 0.5 · 1 · 0.05 / (1 − 0.75) = 0.1 → stake $200 → 200 / 0.75 = 266.67 → 266.
    policy = Policy(
        kelly_fraction=Decimal("0.5"),
        max_market_exposure=Decimal(10**6),
        max_total_exposure=Decimal(10**6),
    )
    sized = policy.size(signal(limit=0.75, edge=0.05, confidence=1.0), Portfolio(Decimal(2000)))
    assert sized == 266


def test_the_size_hint_caps_kelly() -> None:
    assert QUARTER.size(signal(size=30.9), Portfolio(Decimal(1000))) == 30


def test_market_exposure_cap_counts_what_the_market_already_cost() -> None:
    # Cap $30 in market 1, $10 already in it: room $20 → 20 / 0.40 = 50, Kelly wants 50.
    policy = Policy(
        min_confidence=0.5, max_market_exposure=Decimal(30), max_total_exposure=Decimal(10**6)
    )
    portfolio = holding(Decimal(990), market=1, contracts=25, price=Decimal("0.40"))
    assert policy.size(signal(), portfolio) == 50
    tighter = Policy(
        min_confidence=0.5, max_market_exposure=Decimal(15), max_total_exposure=Decimal(10**6)
    )
    # Room $5 → 12 contracts (12.5 rounded down).
    assert tighter.size(signal(), portfolio) == 12


def test_total_exposure_cap_with_no_room_declines() -> None:
    policy = Policy(
        min_confidence=0.5, max_market_exposure=Decimal(10**6), max_total_exposure=Decimal(100)
    )
    portfolio = holding(Decimal(900), market=2, contracts=250, price=Decimal("0.40"))
    assert policy.size(signal(), portfolio) == "exposure_limit"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"confidence": 0.49}, "low_confidence"),
        ({"edge": 0.0}, "no_edge"),
        ({"edge": -0.02}, "no_edge"),
        ({"limit": 1.0}, "no_edge"),
        ({"limit": 0.0}, "no_edge"),
        ({"edge": float("nan")}, "no_edge"),
        ({"edge": 0.0001}, "too_small"),
    ],
)
def test_signals_the_policy_declines(overrides: dict[str, Any], reason: str) -> None:
    assert QUARTER.size(signal(**overrides), Portfolio(Decimal(1000))) == reason


def test_signal_sizing_takes_the_hint_whole() -> None:
    policy = Policy(
        sizing="signal",
        min_confidence=0.0,
        max_market_exposure=Decimal(10**6),
        max_total_exposure=Decimal(10**6),
    )
    assert policy.size(signal(size=37.9, edge=0.01), Portfolio(Decimal(10))) == 37


def test_daily_loss_limit() -> None:
    policy = Policy(daily_loss_limit=Decimal(50))
    start = Decimal(1000)
    assert not daily_loss_exceeded(policy, day_start_equity=start, equity=Decimal("950.01"))
    assert daily_loss_exceeded(policy, day_start_equity=start, equity=Decimal(950))
    unlimited = Policy(daily_loss_limit=None)
    assert not daily_loss_exceeded(unlimited, day_start_equity=start, equity=Decimal(0))


@pytest.mark.parametrize(
    "overrides",
    [
        {"min_confidence": 1.5},
        {"kelly_fraction": Decimal(0)},
        {"kelly_fraction": Decimal("1.5")},
        {"max_market_exposure": Decimal(0)},
        {"daily_loss_limit": Decimal(-1)},
        {"sizing": "martingale"},
    ],
)
def test_invalid_policies_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        Policy(**overrides)  # type: ignore[arg-type]


@given(
    limit=st.floats(0.01, 0.99),
    edge=st.floats(0.0, 0.5),
    confidence=st.floats(0.0, 1.0),
    cash=st.integers(0, 10**7),
)
def test_kelly_never_stakes_more_than_the_fraction_allows(
    limit: float, edge: float, confidence: float, cash: int
) -> None:
    sized = QUARTER.size(
        signal(limit=limit, edge=edge, confidence=confidence, size=10**9),
        Portfolio(Decimal(cash)),
    )
    if isinstance(sized, int):
        price = Decimal(str(round(limit, 6)))
        # The cost never exceeds a quarter of the full Kelly stake (which is at most the bankroll).
        assert price * sized <= Decimal(cash) * Decimal("0.25") * Decimal(str(round(edge, 6))) / (
            1 - price
        ) + Decimal("1e-9")
