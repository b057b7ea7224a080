"""Chart data builders and the bounded queries behind the charts and the overview's gaps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from dashboard_seed import seed
from sqlalchemy.orm import Session

from edgewatch.backtest.repository import thinned_equity_curve
from edgewatch.dashboard.charts import align, calibration_chart, drawdowns, volume_chart
from edgewatch.markets.repository import top_gaps
from edgewatch.models import Market, MarketLink, OddsTick
from edgewatch.models.backtest import BacktestEquity, BacktestRun

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class Row:
    tick_ts: datetime
    volume: float | None


def test_align_puts_every_column_on_one_sorted_x() -> None:
    x, values = align({"a": [(2.0, 0.5), (1.0, 0.4)], "b": [(3.0, 0.9)]})
    assert x == [1.0, 2.0, 3.0]
    assert values == {"a": [0.4, 0.5, None], "b": [None, None, 0.9]}


def test_drawdown_is_the_fall_from_the_running_peak() -> None:
    assert drawdowns([100.0, 120.0, 90.0, 130.0]) == pytest.approx([0.0, 0.0, -0.25, 0.0])


def test_volume_bars_are_increments_and_a_reset_is_not_negative() -> None:
    rows = [Row(T0 + timedelta(seconds=n), v) for n, v in enumerate([10.0, 15.0, None, 3.0, 7.0])]
    spec = volume_chart(rows)
    assert spec.series[0].values == [5.0, 0.0, 4.0]


def test_calibration_chart_leaves_out_empty_bins_and_draws_the_diagonal() -> None:
    buckets = [
        {"count": 0, "mean_probability": None, "observed_frequency": None},
        {"count": 4, "mean_probability": 0.25, "observed_frequency": 0.5},
    ]
    spec = calibration_chart(buckets)
    assert spec.x == [0.0, 0.25, 1.0]
    assert spec.series[1].values == [None, 0.5, None]
    assert spec.series[0].values == [0.0, 0.25, 1.0]
    assert calibration_chart([]).empty


@pytest.mark.both_backends
def test_top_gaps_rank_open_linked_markets_by_their_latest_mids(session: Session) -> None:
    seeded = seed(session)
    # A second, smaller gap on a same-relation link, and a rejected link that is left out.
    a = Market(venue="kalshi", venue_market_id="A", title="A", last_tick_at=T0)
    b = Market(venue="polymarket", venue_market_id="B", title="B", last_tick_at=T0)
    c = Market(venue="polymarket", venue_market_id="C", title="C", last_tick_at=T0)
    session.add_all([a, b, c])
    session.flush()
    session.add_all(
        [
            OddsTick(market_id=a.id, tick_ts=T0, bid=0.40, ask=0.42),
            OddsTick(market_id=b.id, tick_ts=T0, bid=None, ask=None, last=0.43),
            OddsTick(market_id=c.id, tick_ts=T0, bid=0.9, ask=0.92),
            MarketLink(
                market_a_id=a.id,
                market_b_id=b.id,
                relation="same",
                confidence=1,
                status="confirmed",
                source="sim",
            ),
            MarketLink(
                market_a_id=a.id,
                market_b_id=c.id,
                relation="same",
                confidence=1,
                status="rejected",
                source="sim",
            ),
        ]
    )
    session.commit()

    gaps = top_gaps(session, limit=5)

    assert gaps[0].link.id == seeded.link.id
    assert [round(gap.gap, 4) for gap in gaps] == [-0.07, -0.02]
    assert top_gaps(session, limit=1)[0].gap == pytest.approx(-0.07)


@pytest.mark.both_backends
def test_thinned_equity_curve_keeps_first_last_and_an_even_spread(session: Session) -> None:
    run = BacktestRun(strategy="momentum", code_version="test")
    session.add(run)
    session.flush()
    session.add_all(
        BacktestEquity(
            run_id=run.id, ts=T0 + timedelta(minutes=n), equity=float(n), cash=0.0, exposure=0.0
        )
        for n in range(101)
    )
    session.commit()

    thinned = thinned_equity_curve(session, run.id, max_points=11)

    assert [point.equity for point in thinned] == [float(n) for n in range(0, 101, 10)]
    assert len(thinned_equity_curve(session, run.id, max_points=500)) == 101
