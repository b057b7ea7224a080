"""The simulator is deterministic, internally consistent, and tells the truth about itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from polars.testing import assert_frame_equal

from edgewatch.venues.sim.world import KALSHI, POLYMARKET, SimConfig, SimWorld

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def world(**overrides: object) -> SimWorld:
    return SimWorld(SimConfig(events=30, **overrides))  # type: ignore[arg-type]


def test_same_seed_same_world_whatever_the_query_order() -> None:
    first = world().tick_frame(NOW - timedelta(hours=1), NOW)
    other = world()
    other.tick_frame(NOW, NOW + timedelta(hours=1))  # warm a different window first
    assert_frame_equal(first, other.tick_frame(NOW - timedelta(hours=1), NOW))


def test_split_windows_equal_the_whole_window() -> None:
    sim = world()
    whole = sim.tick_frame(NOW - timedelta(hours=1), NOW)
    halves = pl.concat(
        [
            sim.tick_frame(NOW - timedelta(hours=1), NOW - timedelta(minutes=30)),
            sim.tick_frame(NOW - timedelta(minutes=30), NOW),
        ]
    )
    key = ["venue", "venue_market_id", "tick_ts"]
    assert_frame_equal(whole.sort(key), halves.sort(key))


def test_a_different_seed_is_a_different_world() -> None:
    a = world(seed=1).tick_frame(NOW - timedelta(minutes=10), NOW)
    b = world(seed=2).tick_frame(NOW - timedelta(minutes=10), NOW)
    assert not a.equals(b)


def test_quotes_are_probabilities_with_bid_below_ask_except_flagged_corruption() -> None:
    sim = world(bad_record_rate=0.01)
    frame = sim.tick_frame(NOW - timedelta(hours=2), NOW)
    truth = sim.truth(NOW - timedelta(hours=2), NOW)
    corrupt = {
        (q["market_id"], q["ts"]) for event in truth["events"] for q in event["corrupt_quotes"]
    }
    assert corrupt, "a 1% corruption rate over two hours must corrupt something"
    crossed = frame.filter(pl.col("bid") > pl.col("ask"))
    assert {
        (row["venue_market_id"], row["tick_ts"].isoformat())
        for row in crossed.iter_rows(named=True)
    } == corrupt
    clean = frame.filter(pl.col("bid") <= pl.col("ask"))
    assert clean.select(pl.col("bid").min()).item() >= 0
    assert clean.select(pl.col("ask").max()).item() <= 1


def test_markets_close_then_resolve_consistently_across_venues() -> None:
    sim = world()
    markets = sim.markets(NOW)
    resolved = [m for m in markets if m.status == "resolved"]
    assert resolved and any(m.status == "open" for m in markets)
    for market in resolved:
        assert market.resolution in ("yes", "no")
        assert market.resolved_at is not None and market.close_time is not None
        assert market.close_time < market.resolved_at <= NOW
    by_event: dict[str, dict[str, str]] = {}
    for market in resolved:
        assert market.event_id is not None and market.resolution is not None
        by_event.setdefault(market.event_id, {})[market.venue] = market.resolution
    links = {(link.market_a, link.market_b): link.relation for link in sim.links(NOW)}
    id_of = {(m.venue, m.event_id): m.venue_market_id for m in resolved}
    checked = 0
    for event_id, outcomes in by_event.items():
        if len(outcomes) == 2:
            relation = links[(id_of[(KALSHI, event_id)], id_of[(POLYMARKET, event_id)])]
            same = outcomes[KALSHI] == outcomes[POLYMARKET]
            assert same == (relation == "same")
            checked += 1
    assert checked > 0


def test_resolution_follows_the_hidden_probability() -> None:
    sim = SimWorld(SimConfig(events=100, step_seconds=60, min_life_steps=20, max_life_steps=40))
    truth = sim.truth(NOW - timedelta(hours=6), NOW)
    finished = [e for e in truth["events"] if e["close_time"] <= NOW.isoformat()]
    assert len(finished) > 500
    expected = sum(e["final_probability"] for e in finished)
    observed = sum(e["outcome"] == "yes" for e in finished)
    # Binomial spread: well within four standard deviations.
    spread = sum(p * (1 - p) for p in (e["final_probability"] for e in finished)) ** 0.5
    assert abs(observed - expected) < 4 * spread


def test_truth_lists_injected_mispricings_that_move_the_quotes() -> None:
    sim = world(mispricing_rate=0.02)
    truth = sim.truth(NOW - timedelta(hours=1), NOW)
    episodes = [m for e in truth["events"] for m in e["mispricings"]]
    assert episodes
    assert all(0.05 <= abs(m["delta"]) <= 0.12 for m in episodes)


def test_fee_terms_are_set_per_simulated_venue() -> None:
    for market in world().markets(NOW):
        if market.venue == KALSHI:
            assert market.fee_schedule == "kalshi" and market.tick_size == 0.01
        else:
            assert market.fee_schedule == "polymarket" and market.fee_rate is not None
