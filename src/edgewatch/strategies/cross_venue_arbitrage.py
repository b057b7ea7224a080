"""Cross-venue arbitrage on confirmed links.

When two venues list the same question, buying YES on one and NO on the other (or YES on both for
a ``complement`` link, where YES on one is NO on the other) pays exactly $1 whatever happens. If the
two asks plus both venues' fees cost less than $1, the difference is riskless profit:

    edge per contract = 1 − price₁ − price₂ − (fee₁ + fee₂) / contracts

A NO contract is bought at ``1 − YES bid``, since selling YES at the bid is the same position. The
two quotes are paired as of each tick time (the latest quote of each market at or before it) and
must both be younger than ``max_quote_age_seconds``. A signal is emitted when an opportunity
appears, not again on every tick while it lasts.

Confidence is the product of the link's own confidence, how clearly the edge clears zero
(``1 − exp(−edge / edge_scale)``: 1¢ ≈ 0.63, 3¢ ≈ 0.95), and how fresh the older quote is
(``exp(−age / max_quote_age)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from edgewatch.errors import FeeUnknown
from edgewatch.strategies.base import LinkInfo, MarketInfo, ProposedSignal, Side
from edgewatch.venues.fees import market_fee


@dataclass(frozen=True, slots=True)
class Leg:
    market: MarketInfo
    side: Side
    price: float
    size: float | None


@dataclass(frozen=True, slots=True)
class CrossVenueArbitrage:
    min_edge: float = 0.005
    max_quote_age_seconds: float = 120.0
    ttl_seconds: float = 300.0
    edge_scale: float = 0.01
    #: Size assumed when a venue shows no depth, and the cap on any size hint.
    default_size: float = 100.0
    max_size: float = 10_000.0

    name = "cross_venue_arbitrage"
    version = "1"

    def evaluate(
        self,
        ticks: pl.DataFrame,
        *,
        markets: Mapping[int, MarketInfo],
        links: Sequence[LinkInfo],
        since: datetime | None,
    ) -> list[ProposedSignal]:
        signals: list[ProposedSignal] = []
        for link in links:
            if link.market_a in markets and link.market_b in markets:
                signals.extend(self._evaluate_link(ticks, link, markets, since))
        return signals

    def _evaluate_link(
        self,
        ticks: pl.DataFrame,
        link: LinkInfo,
        markets: Mapping[int, MarketInfo],
        since: datetime | None,
    ) -> list[ProposedSignal]:
        paired = _pair_quotes(ticks, link.market_a, link.market_b, self.max_quote_age_seconds)
        if paired.is_empty():
            return []
        market_a, market_b = markets[link.market_a], markets[link.market_b]
        # Fees are never negative, so only rows whose pre-fee edge clears the bar can be open;
        # find those in polars and price fees in Python for them alone.
        gross = _gross_edges(link.relation)
        candidates = paired.with_row_index("row").filter(
            pl.any_horizontal([edge > self.min_edge for edge in gross])
        )
        signals: list[ProposedSignal] = []
        rows = candidates.to_dicts()
        for direction in _directions(link.relation):
            previous_open_row = -2
            for row in rows:
                legs = direction(row, market_a, market_b)
                edge_info = self._edge(legs) if legs else None
                if edge_info is None or edge_info["edge"] <= self.min_edge:
                    continue
                was_open = previous_open_row == row["row"] - 1
                previous_open_row = row["row"]
                if not was_open and (since is None or row["t"] > since):
                    assert legs is not None
                    signals.append(self._signal(row, link, legs, edge_info))
        return signals

    def _edge(self, legs: tuple[Leg, Leg]) -> dict[str, Any] | None:
        first, second = legs
        gross = 1.0 - first.price - second.price
        if gross <= self.min_edge:
            return None  # fees are never negative: no need to price them
        sizes = [leg.size for leg in legs if leg.size is not None and leg.size > 0]
        contracts = min([*sizes, self.max_size]) if sizes else self.default_size
        contracts = math.floor(contracts)
        if contracts < 1:
            return None
        try:
            fees = [
                market_fee(
                    fee_schedule=leg.market.fee_schedule,
                    fee_multiplier=leg.market.fee_multiplier,
                    fee_rate=leg.market.fee_rate,
                    price=Decimal(str(round(leg.price, 6))),
                    contracts=contracts,
                )
                for leg in legs
            ]
        except FeeUnknown:
            return None  # fail closed: an unknown fee is not a zero fee
        total_fees = float(sum(fees, Decimal(0)))
        return {
            "edge": gross - total_fees / contracts,
            "gross_edge": gross,
            "contracts": float(contracts),
            "fees": [float(fee) for fee in fees],
        }

    def _signal(
        self, row: dict[str, Any], link: LinkInfo, legs: tuple[Leg, Leg], info: dict[str, Any]
    ) -> ProposedSignal:
        first, second = legs
        t: datetime = row["t"]
        age = max((t - row["ts_a"]).total_seconds(), (t - row["ts_b"]).total_seconds())
        confidence = (
            link.confidence
            * (1.0 - math.exp(-info["edge"] / self.edge_scale))
            * math.exp(-age / self.max_quote_age_seconds)
        )
        key = (
            f"{self.name}:{link.market_a}:{link.market_b}:{first.side}{second.side}:"
            f"{int(row['ts_a'].timestamp() * 1e6)}:{int(row['ts_b'].timestamp() * 1e6)}"
        )
        return ProposedSignal(
            signal_ts=t,
            market_id=first.market.market_id,
            side=first.side,
            limit_price=round(first.price, 6),
            size_hint=info["contracts"],
            edge=round(info["edge"], 6),
            confidence=round(min(max(confidence, 0.0), 1.0), 6),
            expires_at=t + timedelta(seconds=self.ttl_seconds),
            dedupe_key=key,
            paired_market_id=second.market.market_id,
            inputs={
                "relation": link.relation,
                "link_confidence": link.confidence,
                "paired_side": second.side,
                "paired_limit_price": round(second.price, 6),
                "quote_a": _quote(row, "a"),
                "quote_b": _quote(row, "b"),
                "gross_edge": round(info["gross_edge"], 6),
                "fees": info["fees"],
                "contracts": info["contracts"],
                "quote_age_seconds": age,
            },
        )


def _quote(row: dict[str, Any], suffix: str) -> dict[str, Any]:
    return {
        "ts": row[f"ts_{suffix}"].isoformat(),
        "bid": row[f"bid_{suffix}"],
        "ask": row[f"ask_{suffix}"],
        "bid_size": row[f"bid_size_{suffix}"],
        "ask_size": row[f"ask_size_{suffix}"],
    }


def _pair_quotes(ticks: pl.DataFrame, market_a: int, market_b: int, max_age: float) -> pl.DataFrame:
    """The latest quote of each market as of every tick time of either, both fresh enough."""
    columns = ["tick_ts", "bid", "ask", "bid_size", "ask_size"]

    def side(market_id: int, suffix: str) -> pl.DataFrame:
        frame = ticks.filter(pl.col("market_id") == market_id).select(columns).sort("tick_ts")
        return frame.rename({c: f"{c}_{suffix}" for c in columns[1:]}).with_columns(
            pl.col("tick_ts").alias(f"ts_{suffix}")
        )

    a, b = side(market_a, "a"), side(market_b, "b")
    if a.is_empty() or b.is_empty():
        return pl.DataFrame()
    timeline = pl.concat([a.select("tick_ts"), b.select("tick_ts")]).unique().sort("tick_ts")
    limit = timedelta(seconds=max_age)
    return (
        timeline.join_asof(a, on="tick_ts", strategy="backward")
        .join_asof(b, on="tick_ts", strategy="backward")
        .rename({"tick_ts": "t"})
        .filter(
            pl.col("ts_a").is_not_null()
            & pl.col("ts_b").is_not_null()
            & ((pl.col("t") - pl.col("ts_a")) <= limit)
            & ((pl.col("t") - pl.col("ts_b")) <= limit)
        )
    )


LegBuilder = Callable[[dict[str, Any], MarketInfo, MarketInfo], tuple[Leg, Leg] | None]


def _tradable(row: dict[str, Any], suffix: str) -> bool:
    """Both sides quoted, inside (0, 1), not crossed: anything else is not a price to trade at."""
    bid, ask = row[f"bid_{suffix}"], row[f"ask_{suffix}"]
    return bid is not None and ask is not None and 0.0 < bid <= ask < 1.0


def _yes(row: dict[str, Any], suffix: str, market: MarketInfo) -> Leg | None:
    if not _tradable(row, suffix):
        return None
    return Leg(market, "yes", row[f"ask_{suffix}"], row[f"ask_size_{suffix}"])


def _no(row: dict[str, Any], suffix: str, market: MarketInfo) -> Leg | None:
    # Buying NO costs 1 − YES bid; its depth is the depth of YES bids.
    if not _tradable(row, suffix):
        return None
    return Leg(market, "no", 1.0 - row[f"bid_{suffix}"], row[f"bid_size_{suffix}"])


def _both(first: Leg | None, second: Leg | None) -> tuple[Leg, Leg] | None:
    return (first, second) if first is not None and second is not None else None


def _gross_edges(relation: str) -> list[pl.Expr]:
    """Pre-fee edge of each covering pair, in the same order as ``_directions``."""
    bid_a, ask_a, bid_b, ask_b = (pl.col(c) for c in ("bid_a", "ask_a", "bid_b", "ask_b"))
    if relation == "same":
        return [bid_b - ask_a, bid_a - ask_b]
    return [1.0 - ask_a - ask_b, bid_a + bid_b - 1.0]


def _directions(relation: str) -> list[LegBuilder]:
    """The two covering pairs of legs for a link: each pays exactly $1 in every outcome."""
    if relation == "same":
        return [
            lambda r, a, b: _both(_yes(r, "a", a), _no(r, "b", b)),
            lambda r, a, b: _both(_yes(r, "b", b), _no(r, "a", a)),
        ]
    return [
        lambda r, a, b: _both(_yes(r, "a", a), _yes(r, "b", b)),
        lambda r, a, b: _both(_no(r, "a", a), _no(r, "b", b)),
    ]
