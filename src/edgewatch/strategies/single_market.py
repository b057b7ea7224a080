"""The shared evaluation of single-market strategies (mean reversion, momentum).

A single-market strategy says, per tick, what a YES contract is expected to be worth soon
(``fair_value``) and when it believes that (``buy_yes`` / ``buy_no``). Buying YES costs the ask;
buying NO costs ``1 − bid``. Before fees the edge per contract is then

    YES: fair − ask                NO: (1 − fair) − (1 − bid) = bid − fair

and the fee per contract comes off that. Everything up to choosing candidate rows is one polars
pass over the whole frame; only the first rows of each episode are priced in Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import polars as pl

from edgewatch.features import FEATURE_SET_VERSION, market_features
from edgewatch.strategies import emission
from edgewatch.strategies.base import MarketInfo, ProposedSignal, Side


@dataclass(frozen=True, slots=True)
class Sizing:
    min_edge: float
    max_spread: float
    ttl_seconds: float
    edge_scale: float
    default_size: float
    max_size: float


class SizingParameters(Protocol):
    """The sizing and expiry parameters every trading strategy here exposes as fields."""

    @property
    def name(self) -> str: ...

    @property
    def min_edge(self) -> float: ...

    @property
    def max_spread(self) -> float: ...

    @property
    def ttl_seconds(self) -> float: ...

    @property
    def edge_scale(self) -> float: ...

    @property
    def default_size(self) -> float: ...

    @property
    def max_size(self) -> float: ...


def sizing_of(strategy: SizingParameters) -> Sizing:
    """Validate a strategy's shared sizing parameters (``InvalidInput`` naming the bad one)."""
    emission.require_positive(
        strategy.name,
        max_spread=strategy.max_spread,
        ttl_seconds=strategy.ttl_seconds,
        edge_scale=strategy.edge_scale,
        default_size=strategy.default_size,
        max_size=strategy.max_size,
    )
    emission.require_non_negative(strategy.name, min_edge=strategy.min_edge)
    return Sizing(
        min_edge=strategy.min_edge,
        max_spread=strategy.max_spread,
        ttl_seconds=strategy.ttl_seconds,
        edge_scale=strategy.edge_scale,
        default_size=strategy.default_size,
        max_size=strategy.max_size,
    )


@dataclass(frozen=True, slots=True)
class SingleMarketRule:
    name: str
    version: str
    #: Registered market features the rule reads (and reports in ``inputs``).
    features: Sequence[str]
    fair_value: pl.Expr
    buy_yes: pl.Expr
    buy_no: pl.Expr
    #: How far past its threshold the trigger is, in [0, 1]; scales confidence.
    strength: pl.Expr


def evaluate_single_market(
    rule: SingleMarketRule,
    sizing: Sizing,
    ticks: pl.DataFrame,
    *,
    markets: Mapping[int, MarketInfo],
    since: datetime | None,
) -> list[ProposedSignal]:
    known = ticks.filter(pl.col("market_id").is_in(list(markets)))
    if known.is_empty():
        return []
    latest: datetime = known.get_column("tick_ts").max()  # type: ignore[assignment]
    if since is not None and latest <= since:
        return []
    frame = market_features(known, names=[*dict.fromkeys(["mid", "spread", *rule.features])])
    quoted = pl.col("spread").is_between(0.0, sizing.max_spread, closed="right")
    fair = rule.fair_value
    candidates = frame.with_columns(
        fair.alias("fair_value"),
        rule.strength.clip(0.0, 1.0).alias("strength"),
    )
    signals: list[ProposedSignal] = []
    for side, trigger, price, gross, size in (
        ("yes", rule.buy_yes, pl.col("ask"), pl.col("fair_value") - pl.col("ask"), "ask_size"),
        ("no", rule.buy_no, 1.0 - pl.col("bid"), pl.col("bid") - pl.col("fair_value"), "bid_size"),
    ):
        side_frame = candidates.with_columns(
            pl.lit(side).alias("side"),
            price.alias("price"),
            gross.alias("gross_edge"),
            pl.col(size).alias("displayed_size"),
        ).with_columns(
            (quoted & trigger & (pl.col("gross_edge") > sizing.min_edge))
            .fill_null(False)
            .alias(emission.OPEN)
        )
        for rows in emission.episodes(side_frame, stream=["market_id"], since=since):
            signal = _first_tradeable(rule, sizing, rows, markets, since)
            if signal is not None:
                signals.append(signal)
    signals.sort(key=lambda s: (s.signal_ts, s.market_id, s.side))
    return signals


def _first_tradeable(
    rule: SingleMarketRule,
    sizing: Sizing,
    rows: list[dict[str, Any]],
    markets: Mapping[int, MarketInfo],
    since: datetime | None,
) -> ProposedSignal | None:
    for row in rows:
        priced = emission.price_with_fees(
            markets[row["market_id"]],
            price=row["price"],
            gross_edge=row["gross_edge"],
            displayed_size=row["displayed_size"],
            default_size=sizing.default_size,
            max_size=sizing.max_size,
        )
        if priced is None or priced.edge <= sizing.min_edge:
            continue
        if not emission.is_after(row["tick_ts"], since):
            return None  # reported by the run that saw this row
        return _signal(rule, sizing, row, priced)
    return None


def _signal(
    rule: SingleMarketRule, sizing: Sizing, row: dict[str, Any], priced: emission.Priced
) -> ProposedSignal:
    ts: datetime = row["tick_ts"]
    side: Side = "yes" if row["side"] == "yes" else "no"
    confidence = emission.edge_confidence(priced.edge, sizing.edge_scale) * row["strength"]
    inputs = emission.rounded_inputs(row, ["bid", "ask", "bid_size", "ask_size", *rule.features])
    inputs.update(
        fair_value=round(row["fair_value"], 6),
        gross_edge=round(row["gross_edge"], 6),
        fee=priced.fee,
        contracts=priced.contracts,
        feature_set_version=FEATURE_SET_VERSION,
    )
    return ProposedSignal(
        signal_ts=ts,
        market_id=row["market_id"],
        side=side,
        limit_price=round(row["price"], 6),
        size_hint=priced.contracts,
        edge=round(priced.edge, 6),
        confidence=emission.clamp_unit(confidence),
        expires_at=ts + timedelta(seconds=sizing.ttl_seconds),
        dedupe_key=emission.dedupe_key(rule.name, rule.version, row["market_id"], side, ts),
        inputs=inputs,
    )


def strength_past(value: pl.Expr, threshold: float) -> pl.Expr:
    """0.5 at the threshold, rising to 1 at twice it: how decisively a trigger fired."""
    return ((value.abs() - threshold) / threshold).clip(0.0, 1.0) * 0.5 + 0.5
