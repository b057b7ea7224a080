"""The checks find exactly the planted problems in hand-built tick series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from edgewatch.quality.checks import Thresholds, find_gaps, find_issues

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
STEP = timedelta(seconds=10)


def series(market_id: int, count: int, *, start: datetime = T0) -> list[dict[str, object]]:
    """An honest market: a tick every 10 s whose quote moves a little each time."""
    return [
        {
            "market_id": market_id,
            "tick_ts": start + n * STEP,
            "bid": 0.40 + (n % 3) / 100,
            "ask": 0.45 + (n % 3) / 100,
            "last": 0.42,
        }
        for n in range(count)
    ]


def frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "market_id": pl.Int64,
            "tick_ts": pl.Datetime("us", "UTC"),
            "bid": pl.Float64,
            "ask": pl.Float64,
            "last": pl.Float64,
        },
    )


def kinds(findings: pl.DataFrame) -> list[tuple[int, str, datetime]]:
    return list(findings.select("market_id", "kind", "start_ts").iter_rows())


def test_an_honest_series_has_no_findings() -> None:
    assert find_issues(frame(series(1, 500) + series(2, 500))).is_empty()


def test_one_of_each_problem_gives_exactly_the_expected_findings() -> None:
    rows = series(1, 400)
    # Gap: nothing between tick 99 and tick 100, which arrives 30 minutes late.
    for row in rows[100:]:
        row["tick_ts"] = row["tick_ts"] + timedelta(minutes=30)  # type: ignore[operator]
    # Out of range, crossed: single corrupt ticks, not seen as jumps in and out.
    rows[10]["ask"] = 1.7
    rows[20]["bid"], rows[20]["ask"] = 0.60, 0.50
    # Jump: the price moves 0.3 at tick 50 and stays there.
    for row in rows[50:100]:
        row["bid"], row["ask"] = 0.75, 0.80
    # Duplicate: a second, different quote at tick 30's time.
    rows.append({**rows[30], "bid": 0.41})
    # Stale: market 2 repeats one quote for 70 minutes while ticking every 10 s.
    stale = series(2, 600)
    for row in stale[100:521]:
        row["bid"], row["ask"], row["last"] = 0.5, 0.55, 0.52

    found = find_issues(frame(rows + stale))

    at = [r["tick_ts"] for r in rows]
    assert kinds(found) == [
        (1, "out_of_range", at[10]),
        (1, "crossed_quote", at[20]),
        (1, "duplicate_timestamp", at[30]),
        (1, "jump", at[49]),
        (1, "gap", at[99]),
        (1, "jump", at[99]),
        (2, "stale_quote", stale[100]["tick_ts"]),
    ]
    by_kind = {row["kind"]: row for row in found.iter_rows(named=True)}
    assert by_kind["gap"]["value"] == pytest.approx(30 * 60 + 10)
    assert by_kind["gap"]["end_ts"] == at[100]
    assert by_kind["out_of_range"]["value"] == 1.7
    assert by_kind["duplicate_timestamp"]["tick_count"] == 2
    assert by_kind["stale_quote"]["tick_count"] == 421
    assert by_kind["stale_quote"]["value"] == pytest.approx(420 * 10)
    assert "bid 0.6 is above ask 0.5" in by_kind["crossed_quote"]["detail"]


def test_thresholds_move_what_counts_as_a_problem() -> None:
    rows = series(1, 100)
    for row in rows[50:]:
        row["tick_ts"] = row["tick_ts"] + timedelta(minutes=3)  # type: ignore[operator]
    assert find_gaps(frame(rows)).is_empty()  # under the 5-minute floor
    loose = Thresholds(min_gap=timedelta(minutes=2))
    assert kinds(find_gaps(frame(rows), loose)) == [(1, "gap", rows[49]["tick_ts"])]


def test_a_sparse_market_is_judged_by_its_own_spacing() -> None:
    hourly = [
        {
            "market_id": 3,
            "tick_ts": T0 + timedelta(hours=n),
            "bid": 0.4 + n / 1000,
            "ask": 0.5,
            "last": None,
        }
        for n in range(24)
    ]
    assert find_issues(frame(hourly), Thresholds(stale_after=timedelta(days=1))).is_empty()


def test_missing_quote_columns_and_nans_are_handled() -> None:
    rows = [
        {"market_id": 1, "tick_ts": T0, "bid": float("nan"), "ask": 0.5, "last": None},
        {"market_id": 1, "tick_ts": T0 + STEP, "bid": None, "ask": None, "last": 0.5},
    ]
    found = find_issues(frame(rows))
    assert kinds(found) == [(1, "out_of_range", T0)]
    only_last = pl.DataFrame({"market_id": [1, 1], "tick_ts": [T0, T0 + STEP], "last": [0.1, 0.9]})
    assert kinds(find_issues(only_last)) == [(1, "jump", T0)]
