from __future__ import annotations

import pytest
from strategyframes import MARKETS, POLYMARKET, at, frame, mids

from edgewatch.strategies.base import MarketInfo
from edgewatch.strategies.momentum import Momentum

# A steady climb from 0.50 to 0.60 over 20 ticks, a little noisy.
CLIMB = [round(0.50 + 0.005 * i + (0.001 if i % 2 else 0.0), 6) for i in range(20)] + [0.60]
TICKS = frame(mids(POLYMARKET.market_id, CLIMB))
# Buy YES at 0.61: fair = 0.60 + 0.3 × 0.10 = 0.63; Polymarket fee 100 × 0.02 × 0.61 × 0.39.
GROSS = 0.63 - 0.61
EDGE = GROSS - 0.4758 / 100


def test_buys_yes_on_a_strong_rise() -> None:
    signals = Momentum().evaluate(TICKS, markets=MARKETS, links=[], since=None)
    assert len(signals) == 1
    signal = signals[0]
    assert (signal.signal_ts, signal.side) == (at(20), "yes")
    assert signal.limit_price == pytest.approx(0.61)
    assert signal.edge == pytest.approx(EDGE, abs=1e-6)
    assert signal.inputs["momentum_20t"] > 2.5
    assert signal.inputs["return_20t"] == pytest.approx(0.10)
    assert 0.0 < signal.confidence <= 1.0


def test_fees_decide_at_the_boundary() -> None:
    assert Momentum(min_edge=EDGE - 0.0001).evaluate(TICKS, markets=MARKETS, links=[], since=None)
    assert (
        Momentum(min_edge=EDGE + 0.0001).evaluate(TICKS, markets=MARKETS, links=[], since=None)
        == []
    )


def test_a_fall_buys_no() -> None:
    ticks = frame(mids(POLYMARKET.market_id, [1.0 - p for p in CLIMB]))
    signals = Momentum().evaluate(ticks, markets=MARKETS, links=[], since=None)
    assert [s.side for s in signals] == ["no"]
    assert signals[0].limit_price == pytest.approx(1.0 - 0.39)


def test_unknown_fee_rate_gives_no_signal() -> None:
    market = MarketInfo(POLYMARKET.market_id, "polymarket", "polymarket", fee_rate=None)
    signals = Momentum().evaluate(TICKS, markets={market.market_id: market}, links=[], since=None)
    assert signals == []


def test_since_filters_and_keys_are_stable() -> None:
    first = Momentum().evaluate(TICKS, markets=MARKETS, links=[], since=at(19))
    second = Momentum().evaluate(TICKS, markets=MARKETS, links=[], since=None)
    assert [s.dedupe_key for s in first] == [s.dedupe_key for s in second]
    assert Momentum().evaluate(TICKS, markets=MARKETS, links=[], since=at(20)) == []


def test_quiet_market_gives_nothing() -> None:
    ticks = frame(mids(POLYMARKET.market_id, [0.5 + 0.001 * (i % 3) for i in range(30)]))
    assert Momentum().evaluate(ticks, markets=MARKETS, links=[], since=None) == []
