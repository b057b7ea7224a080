from __future__ import annotations

import math

import pytest
from strategyframes import KALSHI, MARKETS, POLYMARKET, at, frame, mids

from edgewatch.strategies.base import LinkInfo, MarketInfo
from edgewatch.strategies.cross_venue_convergence import CrossVenueConvergence

QUIET = 60
# Both venues near 0.50 with a small wobble, then A (Kalshi) jumps to 0.60 on its last tick.
A_MIDS = [round(0.50 + 0.002 * math.sin(i), 6) for i in range(QUIET)] + [0.60]
B_MIDS = [round(0.50 + 0.002 * math.cos(i), 6) for i in range(QUIET + 1)]
TICKS = frame(mids(KALSHI.market_id, A_MIDS) + mids(POLYMARKET.market_id, B_MIDS))
SAME = LinkInfo(KALSHI.market_id, POLYMARKET.market_id, "same")
# A threshold above 2 means neither venue ever counts as the leader: both legs share the move.
STRATEGY = CrossVenueConvergence(convergence=1.0, lead_threshold=2.5)


def test_a_sudden_gap_trades_both_legs_toward_each_other() -> None:
    signals = STRATEGY.evaluate(TICKS, markets=MARKETS, links=[SAME], since=None)
    by_market = {s.market_id: s for s in signals}
    assert set(by_market) == {KALSHI.market_id, POLYMARKET.market_id}
    rich, cheap = by_market[KALSHI.market_id], by_market[POLYMARKET.market_id]
    assert (rich.side, rich.limit_price) == ("no", pytest.approx(0.41))
    assert (cheap.side, cheap.paired_market_id) == ("yes", KALSHI.market_id)
    assert rich.signal_ts == cheap.signal_ts == at(QUIET)
    assert rich.inputs["gap_zscore_50t"] > 2.5
    assert rich.inputs["move_share"] == 0.5
    # Same expected move for both legs; Kalshi's fee is the larger, so A's edge is smaller.
    assert 0 < rich.edge < cheap.edge
    for signal in signals:
        assert 0.0 < signal.confidence <= 1.0


def test_complement_link_buys_no_on_both() -> None:
    complement = LinkInfo(KALSHI.market_id, POLYMARKET.market_id, "complement")
    # B quotes the opposite question: 1 − 0.50 is still 0.50, so the same mids work.
    signals = STRATEGY.evaluate(TICKS, markets=MARKETS, links=[complement], since=None)
    assert sorted((s.market_id, s.side) for s in signals) == [
        (KALSHI.market_id, "no"),
        (POLYMARKET.market_id, "no"),
    ]


def test_small_expected_move_is_eaten_by_fees() -> None:
    timid = CrossVenueConvergence(convergence=0.2, lead_threshold=2.5)
    assert timid.evaluate(TICKS, markets=MARKETS, links=[SAME], since=None) == []


def test_unknown_fee_silences_only_that_leg() -> None:
    markets = {**MARKETS, POLYMARKET.market_id: MarketInfo(POLYMARKET.market_id, "pm", None)}
    signals = STRATEGY.evaluate(TICKS, markets=markets, links=[SAME], since=None)
    assert [s.market_id for s in signals] == [KALSHI.market_id]


def test_a_stale_quote_blocks_the_pair() -> None:
    stale_b = frame(mids(KALSHI.market_id, A_MIDS) + mids(POLYMARKET.market_id, B_MIDS[:48]))
    assert STRATEGY.evaluate(stale_b, markets=MARKETS, links=[SAME], since=None) == []


def test_weak_links_are_ignored() -> None:
    weak = LinkInfo(KALSHI.market_id, POLYMARKET.market_id, "same", confidence=0.3)
    assert STRATEGY.evaluate(TICKS, markets=MARKETS, links=[weak], since=None) == []


def test_since_filters_and_keys_are_stable() -> None:
    full = STRATEGY.evaluate(TICKS, markets=MARKETS, links=[SAME], since=None)
    late = STRATEGY.evaluate(TICKS, markets=MARKETS, links=[SAME], since=at(QUIET - 1))
    assert [s.dedupe_key for s in late] == [s.dedupe_key for s in full]
    assert STRATEGY.evaluate(TICKS, markets=MARKETS, links=[SAME], since=at(QUIET)) == []


def test_a_leader_means_only_the_follower_trades() -> None:
    leader_a = CrossVenueConvergence(convergence=1.0, lead_threshold=0.01)
    signals = leader_a.evaluate(TICKS, markets=MARKETS, links=[SAME], since=None)
    assert len(signals) == 1
    for signal in signals:
        assert signal.inputs["move_share"] == 1.0
        lead = signal.inputs["lead_lag_30t"]
        follower = POLYMARKET.market_id if lead > 0 else KALSHI.market_id
        assert signal.market_id == follower
