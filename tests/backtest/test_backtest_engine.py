"""Hand-computed backtests, to the cent. Kalshi fees are ceil_to_cent(0.07·C·P·(1−P)) per order;
Polymarket's are C·rate·P·(1−P) rounded to 5 decimals (rate 0.02 here).

Unless a test says otherwise: the strategy is evaluated every 10 s, orders leave at the
evaluation time, arrive 2 s later and pay one cent of slippage beyond the far side of the quote.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import polars as pl
import pytest

from edgewatch.backtest import FillConfig, Order, Portfolio, Quote, Resolution, run_backtest
from edgewatch.backtest.fills import Fill, arrival_time, fill_order, to_price

from .support import KALSHI, MARKETS, POLYMARKET, Scripted, at, config, signal, tick_frame

KALSHI_TICKS = [
    (1, 0, 0.40, 0.42, 500, 500),
    (1, 10, 0.40, 0.42, 500, 500),
    (1, 15, 0.41, 0.43, 500, 500),
    (1, 20, 0.50, 0.52, 500, 500),
    (1, 25, 0.55, 0.57, 500, 500),
    (1, 40, 0.98, 0.99, 500, 500),
]
POLYMARKET_TICKS = [
    (2, 0, 0.58, 0.60, 1000, 1000),
    (2, 15, 0.59, 0.60, 1000, 1000),
    (2, 25, 0.70, 0.72, 1000, 1000),
    (2, 40, 0.70, 0.72, 1000, 1000),
]


def test_buy_and_hold_to_a_yes_resolution_on_kalshi() -> None:
    # Signal at 0 s, evaluated at 10 s, arrives at 12 s, meets the 15 s quote: ask 0.43 + 0.01.
    # Fee ceil(0.07·100·0.44·0.56 = 1.7248) = 1.73. Paid 44.00 + 1.73; YES pays 100 at 30 s.
    result = run_backtest(
        Scripted([signal(1, 0, "yes", limit=0.45, size=100)]),
        tick_frame(KALSHI_TICKS),
        markets=MARKETS,
        resolutions=[Resolution(1, "yes", at(30))],
        config=config(),
    )
    (fill,) = result.fills
    assert (fill.price, fill.fee, fill.quantity, fill.filled_at) == (
        Decimal("0.44"),
        Decimal("1.73"),
        100,
        at(15),
    )
    assert result.settlements[0].payout == Decimal(100)
    assert result.pnl == Decimal("54.27")
    assert result.final_equity == Decimal("1054.27")
    assert result.fees_paid == Decimal("1.73")
    assert [(t.pnl, t.how, t.closed) for t in result.trades] == [
        (Decimal("54.27"), "settled", True)
    ]
    assert result.unresolved == ()
    assert result.warnings == ()


def test_round_trip_with_kalshi_and_polymarket_fees() -> None:
    # Kalshi: buy 100 YES at 0.44 (fee 1.73); at 20 s buy 100 NO at 1 − 0.55 + 0.01 = 0.46
    # (fee ceil(0.07·100·0.46·0.54 = 1.7388) = 1.74); the pairs pay $100 at once.
    # P&L = 100 − 44 − 46 − 1.73 − 1.74 = 6.53.
    # Polymarket: buy 200 YES at 0.61 (fee 200·0.02·0.61·0.39 = 0.95160); buy 200 NO at
    # 1 − 0.70 + 0.01 = 0.31 (fee 200·0.02·0.31·0.69 = 0.85560). P&L = 200 − 122 − 62 − 1.8072
    # = 14.1928. Together 20.7228, i.e. $20.72.
    plan = [
        signal(1, 0, "yes", limit=0.45, size=100),
        signal(1, 20, "no", limit=0.50, size=100),
        signal(2, 0, "yes", limit=0.65, size=200),
        signal(2, 20, "no", limit=0.35, size=200),
    ]
    result = run_backtest(
        Scripted(plan),
        tick_frame(KALSHI_TICKS + POLYMARKET_TICKS),
        markets=MARKETS,
        config=config(),
    )
    assert [(f.market_id, f.side, f.price, f.fee) for f in result.fills] == [
        (1, "yes", Decimal("0.44"), Decimal("1.73")),
        (2, "yes", Decimal("0.61"), Decimal("0.95160")),
        (1, "no", Decimal("0.46"), Decimal("1.74")),
        (2, "no", Decimal("0.31"), Decimal("0.85560")),
    ]
    by_market = {t.market_id: t for t in result.trades}
    assert by_market[1].pnl == Decimal("6.53")
    assert by_market[2].pnl == Decimal("14.1928")
    assert all(t.how == "netted" and t.closed for t in result.trades)
    assert result.pnl == Decimal("20.7228")
    assert result.pnl.quantize(Decimal("0.01")) == Decimal("20.72")
    assert result.fees_paid == Decimal("5.27720")  # 1.73 + 1.74 + 0.9516 + 0.8556
    assert result.final_cash == result.final_equity  # flat: nothing left to mark


def test_void_kalshi_market_refunds_cost_but_not_fees() -> None:
    result = run_backtest(
        Scripted([signal(1, 0, "yes", limit=0.45, size=100)]),
        tick_frame(KALSHI_TICKS),
        markets=MARKETS,
        resolutions=[Resolution(1, "void", at(30))],
        config=config(),
    )
    assert result.settlements[0].payout == Decimal("44.00")
    assert result.pnl == Decimal("-1.73")


def test_void_polymarket_market_redeems_each_contract_at_half() -> None:
    # 200 YES at 0.61 with fee 0.95160; a 50/50 resolution pays 0.50 each: 100 − 122 − 0.9516.
    result = run_backtest(
        Scripted([signal(2, 0, "yes", limit=0.65, size=200)]),
        tick_frame(POLYMARKET_TICKS),
        markets=MARKETS,
        resolutions=[Resolution(2, "void", at(30))],
        config=config(),
    )
    assert result.settlements[0].payout == Decimal(100)
    assert result.pnl == Decimal("-22.95160")


def test_partial_fill_limited_by_displayed_size() -> None:
    # Only 37 contracts are offered at 15 s: 37 × 0.44 = 16.28, fee ceil(0.638176) = 0.64.
    rows = [r if r[1] != 15 else (1, 15, 0.41, 0.43, 500, 37) for r in KALSHI_TICKS]
    result = run_backtest(
        Scripted([signal(1, 0, "yes", limit=0.45, size=100)]),
        tick_frame(rows),
        markets=MARKETS,
        resolutions=[Resolution(1, "no", at(30))],
        config=config(),
    )
    (fill,) = result.fills
    assert (fill.quantity, fill.requested, fill.fee) == (37, 100, Decimal("0.64"))
    assert result.pnl == Decimal("-16.92")


def test_latency_fills_against_the_first_quote_after_arrival() -> None:
    rows = [
        (1, 0, 0.40, 0.42, 500, 500),
        (1, 10, 0.40, 0.42, 500, 500),
        (1, 12, 0.40, 0.45, 500, 500),
        (1, 14, 0.40, 0.47, 500, 500),
        (1, 40, 0.40, 0.47, 500, 500),
    ]
    slow = FillConfig(slippage=Decimal("0.01"), latency=timedelta(seconds=3))
    result = run_backtest(
        Scripted([signal(1, 0, "yes", limit=0.60, size=10)]),
        tick_frame(rows),
        markets=MARKETS,
        config=config(fills=slow),
    )
    # Sent at 10 s, arrives at 13 s: the 12 s quote is gone, the 14 s quote fills.
    assert (result.fills[0].filled_at, result.fills[0].price) == (at(14), Decimal("0.48"))

    instant = FillConfig(slippage=Decimal("0.01"), latency=timedelta(0))
    optimistic = run_backtest(
        Scripted([signal(1, 0, "yes", limit=0.60, size=10)]),
        tick_frame(rows),
        markets=MARKETS,
        config=config(fills=instant),
    )
    assert (optimistic.fills[0].filled_at, optimistic.fills[0].price) == (at(10), Decimal("0.43"))
    assert any("latency is zero" in w for w in optimistic.warnings)


def test_limit_price_prevents_a_fill_above_it() -> None:
    # The best price reachable is 0.43 + 0.01 slippage = 0.44, above the 0.43 limit.
    result = run_backtest(
        Scripted([signal(1, 0, "yes", limit=0.43, size=100)]),
        tick_frame(KALSHI_TICKS),
        markets=MARKETS,
        resolutions=[Resolution(1, "yes", at(30))],
        config=config(),
    )
    assert result.fills == ()
    assert [r.reason for r in result.rejections] == ["limit"]
    assert result.pnl == Decimal(0)


def test_unresolved_position_is_marked_to_last_mid_and_flagged() -> None:
    # 100 YES held at the end; last mid (0.98 + 0.99) / 2 = 0.985: 98.50 − 45.73 = 52.77.
    result = run_backtest(
        Scripted([signal(1, 0, "yes", limit=0.45, size=100)]),
        tick_frame(KALSHI_TICKS),
        markets=MARKETS,
        config=config(),
    )
    (marked,) = result.unresolved
    assert (marked.market_id, marked.mark_price, marked.value) == (
        1,
        Decimal("0.985"),
        Decimal("98.500"),
    )
    assert result.pnl == Decimal("52.77")
    assert result.trades[0].how == "marked" and not result.trades[0].closed
    assert any("marked to the last mid" in w for w in result.warnings)


def test_cash_caps_the_order_at_the_limit_price() -> None:
    # $20 at a 0.45 limit, sized with the fee at its peak (price 0.5) since the fill price is not
    # known yet: 42 × 0.45 + ceil(0.07·42·0.25 = 0.735) = 19.64 fits; 43 needs 19.35 + 0.76.
    # It then fills at 0.44: 18.48 plus ceil(0.07·42·0.44·0.56 = 0.724416) = 0.73.
    result = run_backtest(
        Scripted([signal(1, 0, "yes", limit=0.45, size=100)]),
        tick_frame(KALSHI_TICKS),
        markets=MARKETS,
        config=config(starting_cash=Decimal(20)),
    )
    assert result.fills[0].quantity == 42
    assert result.final_cash == Decimal(20) - Decimal("18.48") - Decimal("0.73")


def test_position_cap_limits_contracts_per_market() -> None:
    result = run_backtest(
        Scripted(
            [signal(1, 0, "yes", limit=0.45, size=100), signal(1, 20, "yes", limit=0.60, size=100)]
        ),
        tick_frame(KALSHI_TICKS),
        markets=MARKETS,
        config=config(max_position=60),
    )
    assert [f.quantity for f in result.fills] == [60]
    assert [r.reason for r in result.rejections] == ["position_limit"]


def test_orders_on_a_resolved_market_are_rejected() -> None:
    result = run_backtest(
        Scripted([signal(1, 35, "yes", limit=0.99, size=10)]),
        tick_frame([*KALSHI_TICKS, (1, 36, 0.98, 0.99, 500, 500)]),
        markets=MARKETS,
        resolutions=[Resolution(1, "yes", at(30))],
        config=config(),
    )
    assert result.fills == ()
    assert [r.reason for r in result.rejections] == ["market_resolved"]


def test_unknown_fee_terms_fail_closed() -> None:
    mystery = {1: KALSHI, 3: POLYMARKET.__class__(market_id=3, venue="other", fee_schedule=None)}
    rows = [(3, s, b, a, bs, asz) for _, s, b, a, bs, asz in KALSHI_TICKS]
    result = run_backtest(
        Scripted([signal(3, 0, "yes", limit=0.45, size=100)]),
        tick_frame(rows),
        markets=mystery,
        config=config(),
    )
    assert result.fills == ()
    assert [r.reason for r in result.rejections] == ["fee_unknown"]
    assert any("fee terms are unknown" in w for w in result.warnings)


def test_signal_timed_orders_are_flagged_as_optimistic() -> None:
    result = run_backtest(
        Scripted([signal(1, 0, "yes", limit=0.45, size=100)]),
        tick_frame(KALSHI_TICKS),
        markets=MARKETS,
        config=config(order_time="signal"),
    )
    # Sent at 0 s, arrives at 2 s, meets the 10 s quote (ask 0.42).
    assert (result.fills[0].filled_at, result.fills[0].price) == (at(10), Decimal("0.43"))
    assert any("signal timestamp" in w for w in result.warnings)


def test_default_settings_raise_no_warnings_and_zero_slippage_does() -> None:
    assert config().warnings() == []
    loose = config(fills=FillConfig(slippage=Decimal(0), limit_to_displayed_size=False))
    assert len(loose.warnings()) == 2


def test_resolutions_can_come_as_a_frame() -> None:
    table = pl.DataFrame({"market_id": [1], "resolution": ["yes"], "resolved_at": [at(30)]})
    result = run_backtest(
        Scripted([signal(1, 0, "yes", limit=0.45, size=100)]),
        tick_frame(KALSHI_TICKS),
        markets=MARKETS,
        resolutions=table,
        config=config(),
    )
    assert result.pnl == Decimal("54.27")


@pytest.mark.parametrize("fill_type", [Fill])
def test_fill_cash_flow_includes_the_fee(fill_type: type[Fill]) -> None:
    fill = fill_type(
        1, "yes", "buy", 10, 10, Decimal("0.5"), Decimal("0.49"), Decimal("0.18"), at(0), at(0)
    )
    assert fill.cash_flow == Decimal("-5.18")


def test_a_window_that_ends_before_the_resolution_marks_the_position() -> None:
    # Window [0 s, 25 s]: the 30 s resolution is outside it. Last mid (0.55 + 0.57) / 2 = 0.56:
    # 56.00 − 45.73 = 10.27.
    result = run_backtest(
        Scripted([signal(1, 0, "yes", limit=0.45, size=100)]),
        tick_frame(KALSHI_TICKS),
        markets=MARKETS,
        resolutions=[Resolution(1, "yes", at(30))],
        config=config(end=at(25)),
    )
    assert result.settlements == ()
    assert result.pnl == Decimal("10.27")
    assert [p.market_id for p in result.unresolved] == [1]


def test_signals_before_the_window_start_are_dropped() -> None:
    result = run_backtest(
        Scripted([signal(1, 0, "yes", limit=0.45, size=100)]),
        tick_frame(KALSHI_TICKS),
        markets=MARKETS,
        config=config(start=at(5)),
    )
    assert result.fills == ()
    assert result.ticks == len(KALSHI_TICKS) - 1
    assert any("dropped" in w for w in result.warnings)


def test_engine_fills_equal_the_shared_fill_model_applied_by_hand() -> None:
    # What paper trading will do: send at the decision time, wait out the latency, fill against
    # the first quote after it with fills.fill_order, book it with Portfolio.apply.
    plan = [
        signal(1, 0, "yes", limit=0.45, size=100),
        signal(2, 0, "yes", limit=0.65, size=200),
        signal(1, 20, "no", limit=0.50, size=100),
        signal(2, 20, "no", limit=0.35, size=200),
    ]
    settings = config()
    frame = tick_frame(KALSHI_TICKS + POLYMARKET_TICKS)
    result = run_backtest(Scripted(plan), frame, markets=MARKETS, config=settings)

    ledger = Portfolio(settings.starting_cash)
    by_hand = []
    for s in plan:
        sent = at(max(10, math.ceil(s.signal_ts.second / 10) * 10))  # the next evaluation
        order = Order(s.market_id, s.side, int(s.size_hint), to_price(s.limit_price), sent)
        arrival = arrival_time(order, settings.fills)
        row = frame.filter(
            (pl.col("market_id") == s.market_id) & (pl.col("tick_ts") >= arrival)
        ).row(0, named=True)
        quote = Quote(
            s.market_id, row["tick_ts"], row["bid"], row["ask"], row["bid_size"], row["ask_size"]
        )
        fill = fill_order(order, quote, market=MARKETS[s.market_id], config=settings.fills)
        assert isinstance(fill, Fill)
        ledger.apply(fill)
        by_hand.append(
            (fill.market_id, fill.side, fill.quantity, fill.price, fill.fee, fill.filled_at)
        )

    engine = [(f.market_id, f.side, f.quantity, f.price, f.fee, f.filled_at) for f in result.fills]
    assert sorted(engine) == sorted(by_hand)
    assert ledger.cash == result.final_cash
    assert [t.pnl for t in ledger.trades] == [t.pnl for t in result.trades]
