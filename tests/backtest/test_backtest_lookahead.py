"""No look-ahead: a strategy sees nothing of an outcome, and no tick before its time."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from edgewatch.backtest import Resolution, run_backtest
from edgewatch.strategies.base import TICK_SCHEMA, LinkInfo, MarketInfo, ProposedSignal

from .support import MARKETS, T0, at, config, signal, tick_frame

OUTCOME_WORDS = ("resolution", "resolved", "outcome", "result", "settle", "winner", "payout")


class Peeker:
    """Tries every public input for the outcome, and buys the winning side if it finds one."""

    name = "peeker"
    version = "1"

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.found: list[str] = []
        self.evaluated_at: list[tuple[datetime | None, datetime]] = []

    def evaluate(
        self,
        ticks: pl.DataFrame,
        *,
        markets: Mapping[int, MarketInfo],
        links: Sequence[LinkInfo],
        since: datetime | None,
    ) -> list[ProposedSignal]:
        self.seen.append(
            (
                ticks.to_dicts(),
                {k: dataclasses.asdict(v) for k, v in markets.items()},
                list(links),
                since,
            )
        )
        latest = ticks.get_column("tick_ts").max()
        assert isinstance(latest, datetime)
        self.evaluated_at.append((since, latest))
        for column in ticks.columns:
            if any(word in column for word in OUTCOME_WORDS):
                self.found.append(f"column {column}")
        for info in markets.values():
            for name in dir(info):
                if any(word in name for word in OUTCOME_WORDS):
                    self.found.append(f"market attribute {name}")
        try:
            markets[99] = markets[1]  # type: ignore[index]
            self.found.append("markets mapping is writable")
        except TypeError:
            pass
        guess = self._winning_side(markets)
        if guess is None or since is not None:
            return []
        return [signal(1, 0, guess, limit=0.99, size=10)]

    @staticmethod
    def _winning_side(markets: Mapping[int, MarketInfo]) -> Any:
        value = getattr(markets[1], "resolution", None)
        return value if value in ("yes", "no") else None


ROWS = [(1, s, 0.45, 0.47, 500, 500) for s in range(0, 60, 5)] + [(1, 65, 0.98, 0.99, 500, 500)]


def _run(outcome: str) -> tuple[Peeker, Any]:
    peeker = Peeker()
    result = run_backtest(
        peeker,
        tick_frame(ROWS),
        markets=MARKETS,
        resolutions=[Resolution(1, outcome, at(62))],  # type: ignore[arg-type]
        config=config(),
    )
    return peeker, result


def test_a_peeking_strategy_finds_nothing_and_sees_the_same_inputs_whatever_the_outcome() -> None:
    yes_peeker, yes_result = _run("yes")
    no_peeker, no_result = _run("no")
    assert yes_peeker.found == [] and no_peeker.found == []
    assert yes_result.fills == () and no_result.fills == ()
    # Everything the strategy was given is identical whichever way the market resolved.
    assert yes_peeker.seen == no_peeker.seen
    assert len(yes_peeker.seen) > 5


def test_the_strategy_never_sees_a_tick_after_the_evaluation_time() -> None:
    peeker, _ = _run("yes")
    step = timedelta(seconds=10)
    for since, latest in peeker.evaluated_at:
        now = (since or T0) + step
        assert latest <= now
    # The post-resolution quote (at 65 s) is only ever seen after the 62 s resolution.
    late = [since for since, latest in peeker.evaluated_at if latest >= at(65)]
    assert late and all(s is not None and s >= at(60) for s in late)


def test_tick_frames_carry_only_the_public_columns() -> None:
    peeker, _ = _run("yes")
    for ticks, *_ in peeker.seen:
        assert set(ticks[0]) == set(TICK_SCHEMA)


class Recorder:
    """Keeps the rows each evaluation must judge (strictly after ``since``)."""

    name = "recorder"
    version = "1"

    def __init__(self) -> None:
        self.new: list[pl.DataFrame] = []
        self.sorted_ok = True

    def evaluate(
        self,
        ticks: pl.DataFrame,
        *,
        markets: Mapping[int, MarketInfo],
        links: Sequence[LinkInfo],
        since: datetime | None,
    ) -> list[ProposedSignal]:
        self.sorted_ok &= ticks.equals(ticks.sort(["market_id", "tick_ts"], maintain_order=True))
        fresh = ticks if since is None else ticks.filter(pl.col("tick_ts") > since)
        self.new.append(fresh)
        return []


@pytest.mark.parametrize("step_seconds", [1, 7, 60, 3600])
def test_every_tick_is_new_to_exactly_one_evaluation(step_seconds: int) -> None:
    rng = np.random.default_rng(7)
    n = 2000
    seconds = np.sort(rng.uniform(0, 1800, n)).round(3)
    markets = rng.choice([1, 2], n)
    rows = [(int(m), float(s), 0.4, 0.5, 10.0, 10.0) for m, s in zip(markets, seconds, strict=True)]
    frame = tick_frame(rows)
    recorder = Recorder()
    run_backtest(
        recorder,
        frame,
        markets=MARKETS,
        config=config(step=timedelta(seconds=step_seconds), lookback=timedelta(seconds=30)),
    )
    seen = pl.concat(recorder.new).sort(["market_id", "tick_ts"], maintain_order=True)
    assert seen.equals(frame)
    assert recorder.sorted_ok
