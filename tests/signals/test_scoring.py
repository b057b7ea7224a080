"""Scoring hand-made signals against resolved markets, with every number worked out by hand."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from edgewatch.models import Market, Signal
from edgewatch.signals import scoring

pytestmark = pytest.mark.both_backends
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
_serial = itertools.count(1)


def add_market(session: Session, *, venue: str = "kalshi", **fields: Any) -> Market:
    values: dict[str, Any] = {
        "venue": venue,
        "venue_market_id": f"{venue}-{next(_serial)}",
        "title": "Will it happen?",
        "status": "resolved",
        "resolved_at": T0 + timedelta(hours=1),
        "fee_schedule": venue,
        "fee_multiplier": Decimal(1) if venue == "kalshi" else None,
        "fee_rate": Decimal("0.02") if venue == "polymarket" else None,
    }
    market = Market(**(values | fields))
    session.add(market)
    session.flush()
    return market


def add_signal(session: Session, market: Market, **fields: Any) -> Signal:
    serial = next(_serial)
    values: dict[str, Any] = {
        "signal_ts": T0 + timedelta(minutes=serial),
        "strategy": "momentum",
        "strategy_version": "1",
        "side": "yes",
        "limit_price": 0.40,
        "size_hint": 100.0,
        "edge": 0.05,
        "confidence": 0.7,
        "expires_at": T0 + timedelta(hours=2),
        "inputs": {},
        "dedupe_key": f"test-{serial}",
    }
    signal = Signal(market_id=market.id, **(values | fields))
    session.add(signal)
    session.flush()
    return signal


@pytest.fixture
def seeded(session: Session) -> dict[str, Signal]:
    yes_market = add_market(session, resolution="yes")
    no_market = add_market(session, resolution="no")
    poly_yes = add_market(session, venue="polymarket", resolution="yes")
    signals = {
        # YES at 0.40, model said 0.50: won. Fee ceil(0.07·100·0.4·0.6 = 1.68) → 1.68¢ each.
        "yes_win": add_signal(
            session, yes_market, inputs={"fair_value": 0.5, "gross_edge": 0.1}, edge=0.08
        ),
        # NO at 0.30 (YES bid 0.70) with 5¢ gross edge: NO worth 0.35, so P(YES) = 0.65.
        # Fee for 10 at 0.30: 0.07·10·0.3·0.7 = 0.147 → $0.15, 1.5¢ each.
        "no_win": add_signal(
            session,
            no_market,
            side="no",
            limit_price=0.30,
            size_hint=10.0,
            edge=0.035,
            inputs={"gross_edge": 0.05},
        ),
        # Arbitrage: YES on Kalshi at 0.45 (fee ceil(1.7325) = $1.74), NO on Polymarket at 0.50
        # (fee 100·0.02·0.25 = $0.50). Both resolved YES: the Kalshi leg pays.
        "arbitrage": add_signal(
            session,
            yes_market,
            strategy="cross_venue_arbitrage",
            limit_price=0.45,
            edge=0.03,
            paired_market_id=poly_yes.id,
            inputs={"paired_side": "no", "paired_limit_price": 0.50, "gross_edge": 0.05},
        ),
    }
    open_market = add_market(session, status="open", resolved_at=None)
    void_market = add_market(session, status="resolved", resolution="void")
    pending_pair = add_market(session, venue="polymarket", status="open", resolved_at=None)
    add_signal(session, open_market)
    add_signal(session, void_market)
    add_signal(
        session,
        yes_market,
        strategy="cross_venue_arbitrage",
        paired_market_id=pending_pair.id,
        inputs={"paired_side": "no", "paired_limit_price": 0.5},
    )
    session.commit()
    return signals


def by_id(session: Session) -> dict[int, scoring.SignalScore]:
    return {score.signal_id: score for score in scoring.scores(session)}


def test_only_signals_on_resolved_markets_are_scored(
    session: Session, seeded: dict[str, Signal]
) -> None:
    assert set(by_id(session)) == {signal.id for signal in seeded.values()}


def test_a_winning_yes_signal(session: Session, seeded: dict[str, Signal]) -> None:
    score = by_id(session)[seeded["yes_win"].id]
    assert score.realised_edge == pytest.approx(1 - 0.40 - 0.0168)
    assert score.hit is True
    assert score.probability == pytest.approx(0.5)
    assert score.market_probability == pytest.approx(0.4)
    assert score.brier == pytest.approx(0.25)
    assert score.log_loss == pytest.approx(math.log(2))
    assert score.contracts == 100


def test_a_winning_no_signal_in_yes_terms(session: Session, seeded: dict[str, Signal]) -> None:
    score = by_id(session)[seeded["no_win"].id]
    assert score.realised_edge == pytest.approx(1 - 0.30 - 0.015)
    assert score.hit is True
    assert score.probability == pytest.approx(0.65)
    assert score.market_probability == pytest.approx(0.70)
    assert score.brier == pytest.approx(0.65**2)
    assert score.log_loss == pytest.approx(-math.log(0.35))


def test_an_arbitrage_pair_is_scored_on_both_legs_at_its_limit_price(
    session: Session, seeded: dict[str, Signal]
) -> None:
    score = by_id(session)[seeded["arbitrage"].id]
    assert score.realised_edge == pytest.approx((1 - 0.45 - 0.0174) + (0 - 0.50 - 0.005))
    assert score.hit is True
    assert score.probability == pytest.approx(0.45)
    assert score.probability == score.market_probability
    assert score.brier == pytest.approx(0.55**2)


def test_strategy_calibration_sums_up_its_signals(
    session: Session, seeded: dict[str, Signal]
) -> None:
    report = scoring.strategy_calibration(session, "momentum")
    assert report.signals == 2
    assert report.hit_rate == 1.0
    assert report.edge_promised == pytest.approx((0.08 + 0.035) / 2)
    assert report.edge_realised == pytest.approx((0.5832 + 0.685) / 2)
    assert report.brier == pytest.approx((0.25 + 0.4225) / 2)
    assert report.brier_market == pytest.approx((0.36 + 0.49) / 2)
    assert report.brier_advantage == pytest.approx((0.36 + 0.49) / 2 - (0.25 + 0.4225) / 2)
    table = report.calibration
    assert table.height == 10 and table["count"].sum() == 2
    filled = {row["bin_low"]: row for row in table.to_dicts() if row["count"]}
    assert filled[0.5]["mean_probability"] == pytest.approx(0.5)
    assert filled[0.5]["observed_frequency"] == 1.0
    assert filled[0.6]["mean_probability"] == pytest.approx(0.65)
    assert filled[0.6]["observed_frequency"] == 0.0


def test_report_has_a_row_per_strategy_and_per_model(session: Session) -> None:
    market = add_market(session, resolution="no")
    add_signal(
        session,
        market,
        strategy="model_edge",
        strategy_version="1/base/2",
        side="no",
        limit_price=0.2,
        inputs={"fair_value": 0.7, "model": "base", "model_version": "2"},
    )
    session.commit()
    reports = scoring.report(session)
    assert [(r.strategy, r.model) for r in reports] == [
        ("model_edge", None),
        ("model_edge", "base v2"),
    ]
    assert reports[1].brier == pytest.approx(0.49)
    assert reports[1].brier_market == pytest.approx(0.8**2)


def test_unknown_fees_leave_the_realised_edge_open(session: Session) -> None:
    market = add_market(session, resolution="yes", fee_schedule=None)
    signal = add_signal(session, market)
    session.commit()
    score = by_id(session)[signal.id]
    assert score.realised_edge is None and score.hit is None
    assert math.isnan(scoring.summarise([score], strategy="momentum").edge_realised)


def test_since_and_strategy_filter_and_order_newest_first(
    session: Session, seeded: dict[str, Signal]
) -> None:
    since = seeded["no_win"].signal_ts
    rows = scoring.scores(session, since=since)
    assert [row.signal_id for row in rows] == [seeded["arbitrage"].id, seeded["no_win"].id]
    assert [r.signal_id for r in scoring.scores(session, strategy="cross_venue_arbitrage")] == [
        seeded["arbitrage"].id
    ]
