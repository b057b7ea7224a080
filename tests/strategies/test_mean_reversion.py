from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from strategyframes import KALSHI, MARKETS, POLYMARKET, at, frame, mids

from edgewatch.strategies.base import MarketInfo
from edgewatch.strategies.mean_reversion import MeanReversion

# 20 quiet ticks around 0.50–0.51, then a drop to 0.40 that lasts three ticks.
CALM = [0.50 if i % 2 == 0 else 0.51 for i in range(20)]
PRICES = [*CALM, 0.40, 0.40, 0.40]
TICKS = frame(mids(KALSHI.market_id, PRICES))


def expected_edge(reversion: float = 0.5) -> tuple[float, float]:
    """Gross and after-fee edge of buying YES at the first 0.40 tick, by hand."""
    window = np.array(PRICES[1:21])
    fair = 0.40 + reversion * (window.mean() - 0.40)
    gross = fair - 0.41
    fee = 1.70  # Kalshi: ceil_to_cent(0.07 × 100 × 0.41 × 0.59 = 1.6933)
    return gross, gross - fee / 100


def test_buys_yes_when_the_price_falls_far_below_its_mean() -> None:
    signals = MeanReversion().evaluate(TICKS, markets=MARKETS, links=[], since=None)
    assert len(signals) == 1  # one signal for the whole dip
    signal = signals[0]
    gross, edge = expected_edge()
    assert signal.signal_ts == at(20)
    assert (signal.market_id, signal.side) == (KALSHI.market_id, "yes")
    assert signal.limit_price == pytest.approx(0.41)
    assert signal.size_hint == 100.0
    assert signal.edge == pytest.approx(edge, abs=1e-6)
    assert signal.inputs["gross_edge"] == pytest.approx(gross, abs=1e-6)
    assert signal.inputs["mid_zscore_20t"] < -2.0
    assert signal.inputs["fee"] == pytest.approx(1.70)
    assert 0.0 < signal.confidence <= 1.0
    assert signal.expires_at == at(20) + timedelta(seconds=900)


def test_fees_decide_at_the_boundary() -> None:
    gross, edge = expected_edge()
    just_below = MeanReversion(min_edge=edge - 0.0005)
    just_above = MeanReversion(min_edge=edge + 0.0005)
    assert gross > edge + 0.0005  # without fees both would trade
    assert just_below.evaluate(TICKS, markets=MARKETS, links=[], since=None)
    assert just_above.evaluate(TICKS, markets=MARKETS, links=[], since=None) == []


def test_unknown_fees_give_no_signal() -> None:
    for market in (
        MarketInfo(KALSHI.market_id, "kalshi", None),
        MarketInfo(KALSHI.market_id, "polymarket", "polymarket", fee_rate=None),
    ):
        signals = MeanReversion().evaluate(
            TICKS, markets={market.market_id: market}, links=[], since=None
        )
        assert signals == []


def test_market_without_info_is_skipped() -> None:
    signals = MeanReversion().evaluate(
        TICKS, markets={POLYMARKET.market_id: POLYMARKET}, links=[], since=None
    )
    assert signals == []


def test_only_ticks_after_since_signal_and_keys_are_stable() -> None:
    strategy = MeanReversion()
    full = strategy.evaluate(TICKS, markets=MARKETS, links=[], since=None)
    again = strategy.evaluate(TICKS, markets=MARKETS, links=[], since=None)
    incremental = strategy.evaluate(TICKS, markets=MARKETS, links=[], since=at(19))
    assert [s.dedupe_key for s in full] == [s.dedupe_key for s in again]
    assert [s.dedupe_key for s in incremental] == [s.dedupe_key for s in full]
    # A run that starts after the dip began does not report it again.
    assert strategy.evaluate(TICKS, markets=MARKETS, links=[], since=at(20)) == []
    assert strategy.evaluate(TICKS, markets=MARKETS, links=[], since=at(22)) == []


def test_a_spike_up_buys_no() -> None:
    ticks = frame(mids(KALSHI.market_id, [*CALM, 0.62]))
    signals = MeanReversion().evaluate(ticks, markets=MARKETS, links=[], since=None)
    assert [(s.side, s.limit_price) for s in signals] == [("no", pytest.approx(0.39))]


def test_wide_spread_blocks_the_signal() -> None:
    signals = MeanReversion(max_spread=0.01).evaluate(TICKS, markets=MARKETS, links=[], since=None)
    assert signals == []
