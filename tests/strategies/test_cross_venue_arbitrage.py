from __future__ import annotations

import pytest
from strategyframes import KALSHI, MARKETS, POLYMARKET, at, frame, tick

from edgewatch.strategies.base import LinkInfo, MarketInfo
from edgewatch.strategies.cross_venue_arbitrage import CrossVenueArbitrage

SAME = LinkInfo(KALSHI.market_id, POLYMARKET.market_id, "same")
COMPLEMENT = LinkInfo(KALSHI.market_id, POLYMARKET.market_id, "complement")


def quotes(a: tuple[float, float], b: tuple[float, float], *, ticks: int = 1):
    return frame(
        [tick(KALSHI.market_id, i, *a) for i in range(ticks)]
        + [tick(POLYMARKET.market_id, i, *b) for i in range(ticks)]
    )


def test_same_link_buys_yes_cheap_and_no_on_the_rich_venue() -> None:
    ticks = quotes((0.38, 0.40), (0.65, 0.67))
    signals = CrossVenueArbitrage().evaluate(ticks, markets=MARKETS, links=[SAME], since=None)
    assert len(signals) == 1
    signal = signals[0]
    assert (signal.market_id, signal.side, signal.limit_price) == (KALSHI.market_id, "yes", 0.40)
    assert signal.paired_market_id == POLYMARKET.market_id
    assert signal.inputs["paired_side"] == "no"
    assert signal.inputs["paired_limit_price"] == pytest.approx(0.35)
    # 1 − 0.40 − 0.35 minus Kalshi $1.68 and Polymarket $0.455 on 100 contracts.
    assert signal.edge == pytest.approx(0.25 - (1.68 + 0.455) / 100)
    assert signal.size_hint == 100.0


def test_complement_link_buys_yes_on_both() -> None:
    ticks = quotes((0.38, 0.40), (0.43, 0.45))
    signals = CrossVenueArbitrage().evaluate(ticks, markets=MARKETS, links=[COMPLEMENT], since=None)
    assert [(s.side, s.inputs["paired_side"]) for s in signals] == [("yes", "yes")]
    fees = (1.68 + 100 * 0.02 * 0.45 * 0.55) / 100
    assert signals[0].edge == pytest.approx(0.15 - fees, abs=1e-6)


def test_fees_make_a_thin_gap_unprofitable() -> None:
    # Gross 1 − 0.48 − 0.50 = 2¢; fees $1.75 + $0.50 on 100 contracts = 2.25¢.
    ticks = quotes((0.46, 0.48), (0.50, 0.52))
    assert (
        CrossVenueArbitrage(min_edge=0.0).evaluate(ticks, markets=MARKETS, links=[SAME], since=None)
        == []
    )
    wider = quotes((0.44, 0.46), (0.50, 0.52))  # 4¢ gross clears the same fees
    assert CrossVenueArbitrage(min_edge=0.0).evaluate(
        wider, markets=MARKETS, links=[SAME], since=None
    )


def test_unknown_fee_gives_no_signal() -> None:
    ticks = quotes((0.38, 0.40), (0.65, 0.67))
    markets = {**MARKETS, POLYMARKET.market_id: MarketInfo(POLYMARKET.market_id, "pm", None)}
    assert CrossVenueArbitrage().evaluate(ticks, markets=markets, links=[SAME], since=None) == []


def test_stale_quote_is_ignored() -> None:
    ticks = frame(
        [tick(KALSHI.market_id, 20, 0.38, 0.40), tick(POLYMARKET.market_id, 0, 0.65, 0.67)]
    )
    # The Polymarket quote is 200 s old when Kalshi's arrives; the limit is 120 s.
    assert CrossVenueArbitrage().evaluate(ticks, markets=MARKETS, links=[SAME], since=None) == []


def test_an_opportunity_is_reported_once_while_it_lasts() -> None:
    ticks = quotes((0.38, 0.40), (0.65, 0.67), ticks=5)
    strategy = CrossVenueArbitrage()
    signals = strategy.evaluate(ticks, markets=MARKETS, links=[SAME], since=None)
    assert [s.signal_ts for s in signals] == [at(0)]
    assert strategy.evaluate(ticks, markets=MARKETS, links=[SAME], since=at(0)) == []
    again = strategy.evaluate(ticks, markets=MARKETS, links=[SAME], since=None)
    assert [s.dedupe_key for s in again] == [s.dedupe_key for s in signals]


def test_a_closed_then_reopened_gap_is_a_new_opportunity() -> None:
    rows = [tick(KALSHI.market_id, i, 0.38, 0.40) for i in range(3)]
    b = [(0.65, 0.67), (0.40, 0.42), (0.65, 0.67)]  # open, closed, open again
    rows += [tick(POLYMARKET.market_id, i, *q) for i, q in enumerate(b)]
    signals = CrossVenueArbitrage().evaluate(frame(rows), markets=MARKETS, links=[SAME], since=None)
    assert [s.signal_ts for s in signals] == [at(0), at(2)]
    assert len({s.dedupe_key for s in signals}) == 2
