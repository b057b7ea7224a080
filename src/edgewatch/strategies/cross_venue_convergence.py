"""Cross-venue convergence: trade a linked pair's gap back toward its normal level.

Two linked markets ask the same question (or its complement), so their prices should move
together. ``price_gap`` is mid_a − mid_b on A's scale; when it strays ``entry_zscore`` standard
deviations from its recent mean (``gap_zscore_50t``) the pair is expected to recover a share
``convergence`` of that deviation before the signal expires. Unlike arbitrage this is not
riskless — the link may be imperfect and the gap may widen — so it needs no confirmed link, only
``min_link_confidence``, and its confidence carries the link's.

Who moves? If one venue leads (``lead_lag_30t`` beyond ``lead_threshold``), the follower is
expected to make the whole move and only it is traded; otherwise each is expected to make half,
and each leg is a candidate on its own. For a leg expected to move its YES mid by ``move``:

    buy YES (mid should rise):  edge = mid + move − ask        − fee per contract
    buy NO  (mid should fall):  edge = move − (mid − bid)      − fee per contract

A gap above its mean means A is rich (buy NO on A) and B cheap on A's scale (buy YES on B for a
``same`` link, NO on B for a ``complement`` link); below its mean, the reverse. Both quotes must be
younger than ``max_quote_age_seconds``.

Confidence = link confidence × (1 − exp(−edge / edge_scale)) × freshness (exp(−age / max age))
× strength (0.5 at the threshold, 1 at twice it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from edgewatch.features import FEATURE_SET_VERSION, pair_features
from edgewatch.strategies import emission
from edgewatch.strategies.base import LinkInfo, MarketInfo, ProposedSignal, Side
from edgewatch.strategies.single_market import sizing_of, strength_past

_PAIR_FEATURES = ["price_gap", "gap_mean_50t", "gap_zscore_50t", "lead_lag_30t", "quote_age"]


@dataclass(frozen=True, slots=True)
class CrossVenueConvergence:
    entry_zscore: float = 2.5
    convergence: float = 0.5
    lead_threshold: float = 0.3
    min_link_confidence: float = 0.5
    min_edge: float = 0.01
    max_spread: float = 0.05
    max_quote_age_seconds: float = 120.0
    ttl_seconds: float = 900.0
    edge_scale: float = 0.02
    default_size: float = 100.0
    max_size: float = 1_000.0

    name = "cross_venue_convergence"
    version = "1"

    def __post_init__(self) -> None:
        sizing_of(self)
        emission.require_positive(
            self.name,
            entry_zscore=self.entry_zscore,
            lead_threshold=self.lead_threshold,
            max_quote_age_seconds=self.max_quote_age_seconds,
        )
        emission.require_fraction(
            self.name, convergence=self.convergence, min_link_confidence=self.min_link_confidence
        )

    def evaluate(
        self,
        ticks: pl.DataFrame,
        *,
        markets: Mapping[int, MarketInfo],
        links: Sequence[LinkInfo],
        since: datetime | None,
    ) -> list[ProposedSignal]:
        usable = [
            link
            for link in links
            if link.market_a in markets
            and link.market_b in markets
            and link.confidence >= self.min_link_confidence
        ]
        if not usable:
            return []
        wanted = set().union(*({link.market_a, link.market_b} for link in usable))
        known = ticks.filter(pl.col("market_id").is_in(list(wanted)))
        if known.is_empty():
            return []
        pairs = pair_features(known, usable, names=_PAIR_FEATURES)
        if since is not None:
            # Episodes need context before ``since``, but nothing of a link that has gone quiet.
            active = pairs.filter(pl.col("tick_ts") > since).get_column("link").unique()
            pairs = pairs.filter(pl.col("link").is_in(active.implode()))
        signals: list[ProposedSignal] = []
        for leg in ("a", "b"):
            frame = self._leg_candidates(pairs, leg)
            for rows in emission.episodes(frame, stream=["link", "side"], since=since):
                signal = self._first_tradeable(rows, usable, markets, since)
                if signal is not None:
                    signals.append(signal)
        signals.sort(key=lambda s: (s.signal_ts, s.market_id, s.side))
        return signals

    def _leg_candidates(self, pairs: pl.DataFrame, leg: str) -> pl.DataFrame:
        deviation = pl.col("price_gap") - pl.col("gap_mean_50t")
        lead = pl.col("lead_lag_30t").fill_null(0.0)
        # Positive lead_lag: A leads, so B (the follower) makes the move.
        leader_sign = 1.0 if leg == "a" else -1.0
        share = (
            pl.when(lead * leader_sign > self.lead_threshold)
            .then(0.0)
            .when(lead * leader_sign < -self.lead_threshold)
            .then(1.0)
            .otherwise(0.5)
        )
        # Below its normal gap A is cheap; B on A's scale is cheap above it.
        buy_yes = deviation < 0 if leg == "a" else (deviation > 0) ^ pl.col("complement")
        bid, ask, mid = pl.col(f"bid_{leg}"), pl.col(f"ask_{leg}"), pl.col(f"mid_{leg}")
        move = share * self.convergence * deviation.abs()
        spread = ask - bid
        age_limit = self.max_quote_age_seconds
        return (
            pairs.with_columns(
                pl.lit(leg).alias("leg"),
                pl.col(f"market_{leg}").alias("market_id"),
                pl.col("market_b" if leg == "a" else "market_a").alias("paired_market_id"),
                pl.when(buy_yes).then(pl.lit("yes")).otherwise(pl.lit("no")).alias("side"),
                pl.when(buy_yes).then(ask).otherwise(1.0 - bid).alias("price"),
                pl.when(buy_yes)
                .then(mid + move - ask)
                .otherwise(move - (mid - bid))
                .alias("gross_edge"),
                pl.when(buy_yes)
                .then(pl.col(f"ask_size_{leg}"))
                .otherwise(pl.col(f"bid_size_{leg}"))
                .alias("displayed_size"),
                share.alias("move_share"),
                move.alias("expected_move"),
                strength_past(pl.col("gap_zscore_50t"), self.entry_zscore).alias("strength"),
            )
            .with_columns(
                (
                    (pl.col("gap_zscore_50t").abs() >= self.entry_zscore)
                    & (pl.col("move_share") > 0)
                    & spread.is_between(0.0, self.max_spread, closed="right")
                    & (pl.col("quote_age") <= age_limit)
                    & (pl.col("gross_edge") > self.min_edge)
                )
                .fill_null(False)
                .alias(emission.OPEN)
            )
            .sort("link", "side", "tick_ts", maintain_order=True)
        )

    def _first_tradeable(
        self,
        rows: list[dict[str, Any]],
        links: Sequence[LinkInfo],
        markets: Mapping[int, MarketInfo],
        since: datetime | None,
    ) -> ProposedSignal | None:
        for row in rows:
            priced = emission.price_with_fees(
                markets[row["market_id"]],
                price=row["price"],
                gross_edge=row["gross_edge"],
                displayed_size=row["displayed_size"],
                default_size=self.default_size,
                max_size=self.max_size,
            )
            if priced is None or priced.edge <= self.min_edge:
                continue
            if not emission.is_after(row["tick_ts"], since):
                return None  # reported by the run that saw this row
            return self._signal(row, links[row["link"]], priced)
        return None

    def _signal(
        self, row: dict[str, Any], link: LinkInfo, priced: emission.Priced
    ) -> ProposedSignal:
        ts: datetime = row["tick_ts"]
        side: Side = "yes" if row["side"] == "yes" else "no"
        freshness = math.exp(-row["quote_age"] / self.max_quote_age_seconds)
        confidence = (
            link.confidence
            * emission.edge_confidence(priced.edge, self.edge_scale)
            * freshness
            * row["strength"]
        )
        inputs = emission.rounded_inputs(
            row,
            [
                "market_a",
                "market_b",
                "mid_a",
                "mid_b",
                "bid_a",
                "ask_a",
                "bid_b",
                "ask_b",
                "quote_ts_a",
                "quote_ts_b",
                *_PAIR_FEATURES,
                "leg",
                "move_share",
                "expected_move",
                "gross_edge",
            ],
        )
        inputs.update(
            relation=link.relation,
            link_confidence=link.confidence,
            fee=priced.fee,
            contracts=priced.contracts,
            feature_set_version=FEATURE_SET_VERSION,
        )
        key = emission.dedupe_key(
            self.name,
            self.version,
            link.market_a,
            link.market_b,
            row["market_id"],
            side,
            row["quote_ts_a"],
            row["quote_ts_b"],
        )
        return ProposedSignal(
            signal_ts=ts,
            market_id=row["market_id"],
            side=side,
            limit_price=round(row["price"], 6),
            size_hint=priced.contracts,
            edge=round(priced.edge, 6),
            confidence=emission.clamp_unit(confidence),
            expires_at=ts + timedelta(seconds=self.ttl_seconds),
            dedupe_key=key,
            paired_market_id=row["paired_market_id"],
            inputs=inputs,
        )
