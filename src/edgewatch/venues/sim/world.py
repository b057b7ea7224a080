"""A deterministic world of binary events quoted by two simulated venues.

Everything is a pure function of the seed and the time step, so any window can be generated again,
in any order, after any restart, and comes out the same.

* Time is cut into steps of ``step_seconds`` from ``EPOCH``. There are ``events`` slots; each slot
  hosts a sequence of events ("generations") of a fixed lifetime, with its own phase, so markets
  keep opening, closing and resolving.
* Each event has a hidden true probability: a random walk in log-odds. At close it resolves YES
  with that probability.
* Each venue that lists the event quotes a noisy, lagged view of the truth with a bid/ask spread on
  its own tick grid. An honest book always brackets the view, so honest quotes never cross
  between venues. ``sim_kalshi`` prices like Kalshi (cents, Kalshi fees); ``sim_polymarket``
  like Polymarket (0.001 ticks, a taker fee rate). Some events are listed on both venues, some of
  those as the complementary question ("stay below" rather than "finish above").
* Now and then one venue's quote is pushed away from the truth for a few steps (an injected
  mispricing) — the venues then disagree, sometimes by more than fees. A small share of quotes is
  deliberately corrupt (crossed or NaN) to exercise quarantine.

``truth()`` exposes the hidden part for tests and benchmarks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from edgewatch.venues.base import LinkRecord, MarketRecord, MarketStatus, Relation

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
KALSHI = "sim_kalshi"
POLYMARKET = "sim_polymarket"
VENUES = (KALSHI, POLYMARKET)
TICK_SIZE = {KALSHI: 0.01, POLYMARKET: 0.001}
POLYMARKET_FEE_RATE = Decimal("0.02")
RESOLUTION_DELAY_STEPS = 2
CATEGORIES = ("Economics", "Politics", "Weather", "Crypto", "Sports")
SUBJECTS = {
    "Economics": "the Sim CPI print",
    "Politics": "the Sim approval poll",
    "Weather": "the Sim City high temperature",
    "Crypto": "the Sim coin price",
    "Sports": "the Sim United score margin",
}
_QUOTE_COLUMNS = ("bid", "ask", "last", "volume", "bid_size", "ask_size")
_EMPTY_FRAME_SCHEMA: dict[str, Any] = {
    "venue": pl.Utf8,
    "venue_market_id": pl.Utf8,
    "tick_ts": pl.Datetime("us", "UTC"),
    "bid": pl.Float64,
    "ask": pl.Float64,
    "last": pl.Float64,
    "volume": pl.Float64,
    "bid_size": pl.Float64,
    "ask_size": pl.Float64,
}


@dataclass(frozen=True, slots=True)
class SimConfig:
    seed: int = 7
    events: int = 60
    step_seconds: float = 5.0
    min_life_steps: int = 240
    max_life_steps: int = 960
    both_venues_share: float = 0.7
    complement_share: float = 0.25
    #: Expected injected mispricings per listed market per step.
    mispricing_rate: float = 0.004
    bad_record_rate: float = 0.0005


@dataclass(frozen=True, slots=True)
class Mispricing:
    venue: str
    start_step: int
    end_step: int
    delta: float


@dataclass(slots=True)
class Listing:
    venue: str
    market_id: str
    relation: Relation
    lag: int
    noise: np.ndarray
    spread: np.ndarray
    sizes: np.ndarray
    volume: np.ndarray
    shock: np.ndarray
    corrupt: np.ndarray
    mispricings: list[Mispricing] = field(default_factory=list)


@dataclass(slots=True)
class Event:
    slot: int
    generation: int
    open_step: int
    close_step: int
    category: str
    threshold: int
    probability: np.ndarray
    outcome: str
    listings: dict[str, Listing]

    @property
    def event_id(self) -> str:
        return f"SIM-{self.slot:05d}-{self.generation:06d}"


class SimWorld:
    """The simulated world for one configuration; cheap to query any window repeatedly."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        slots = np.arange(self.config.events)
        rng = np.random.default_rng([self.config.seed, 0])
        self._life = rng.integers(
            self.config.min_life_steps, self.config.max_life_steps + 1, size=slots.size
        )
        self._phase = (rng.random(slots.size) * self._life).astype(np.int64)
        self._cache: dict[tuple[int, int], Event] = {}

    # -- time --------------------------------------------------------------------------------
    def step_at(self, when: datetime) -> int:
        """The last step at or before ``when``."""
        return math.floor((when - EPOCH).total_seconds() / self.config.step_seconds)

    def time_of(self, step: int) -> datetime:
        return EPOCH + timedelta(seconds=step * self.config.step_seconds)

    # -- events ------------------------------------------------------------------------------
    def _generation(self, slot: int, step: int) -> int:
        return (step - int(self._phase[slot])) // int(self._life[slot])

    def event(self, slot: int, generation: int) -> Event:
        key = (slot, generation)
        cached = self._cache.get(key)
        if cached is None:
            if len(self._cache) > 20_000:
                self._cache.clear()
            cached = self._cache[key] = self._make_event(slot, generation)
        return cached

    def _make_event(self, slot: int, generation: int) -> Event:
        config = self.config
        life = int(self._life[slot])
        open_step = int(self._phase[slot]) + generation * life
        rng = np.random.default_rng([config.seed, 1, slot, generation + 1_000_000_000])
        logit = rng.normal(0.0, 1.0) + np.cumsum(rng.uniform(0.03, 0.1) * rng.normal(size=life))
        probability = 1.0 / (1.0 + np.exp(-logit))
        outcome = "yes" if rng.random() < probability[-1] else "no"
        category = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
        threshold = int(rng.integers(10, 90))
        listing_draw = rng.random()
        if listing_draw < config.both_venues_share:
            venues = list(VENUES)
        elif listing_draw < (1 + config.both_venues_share) / 2:
            venues = [KALSHI]
        else:
            venues = [POLYMARKET]
        complement = bool(rng.random() < config.complement_share)
        # Both venues see the truth with the same delay, so honest quotes never cross.
        lag = int(rng.integers(0, 3))
        listings: dict[str, Listing] = {}
        for venue in VENUES:  # always draw for both venues so the stream stays aligned
            relation: Relation = "complement" if venue == POLYMARKET and complement else "same"
            tick = TICK_SIZE[venue]
            noise = rng.normal(0.0, rng.uniform(0.003, 0.01), size=life)
            spread = np.maximum(tick, rng.uniform(0.005, 0.03) + rng.exponential(0.004, life))
            sizes = rng.integers(20, 2_000, size=(life, 2)).astype(np.float64)
            volume = np.cumsum(rng.poisson(30.0, size=life)).astype(np.float64)
            shock = np.zeros(life)
            mispricings: list[Mispricing] = []
            for _ in range(int(rng.poisson(config.mispricing_rate * life))):
                start = int(rng.integers(lag, max(lag + 1, life - 12)))
                end = min(life, start + int(rng.integers(3, 13)))
                delta = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.05, 0.12))
                shock[start:end] += delta
                mispricings.append(Mispricing(venue, open_step + start, open_step + end, delta))
            corrupt = rng.random(life) < config.bad_record_rate
            if venue in venues:
                listings[venue] = Listing(
                    venue=venue,
                    market_id=_market_id(venue, slot, generation),
                    relation=relation,
                    lag=lag,
                    noise=noise,
                    spread=spread,
                    sizes=sizes,
                    volume=volume,
                    shock=shock,
                    corrupt=corrupt,
                    mispricings=mispricings,
                )
        return Event(
            slot=slot,
            generation=generation,
            open_step=open_step,
            close_step=open_step + life,
            category=category,
            threshold=threshold,
            probability=probability,
            outcome=outcome,
            listings=listings,
        )

    def events_between(self, first_step: int, last_step: int) -> list[Event]:
        """Every event alive at some step in ``[first_step, last_step]``."""
        found: list[Event] = []
        for slot in range(self.config.events):
            start = max(0, self._generation(slot, first_step))
            stop = self._generation(slot, last_step)
            for generation in range(start, stop + 1):
                event = self.event(slot, generation)
                if event.close_step > first_step and event.open_step <= last_step:
                    found.append(event)
        return found

    # -- quotes ------------------------------------------------------------------------------
    def quotes(self, event: Event, venue: str, steps: np.ndarray) -> dict[str, np.ndarray]:
        """Bid/ask/last/volume/sizes of ``venue``'s market at absolute ``steps`` (all in life)."""
        listing = event.listings[venue]
        rel = steps - event.open_step
        view = np.clip(event.probability[np.maximum(rel - listing.lag, 0)], 0.02, 0.98)
        if listing.relation == "complement":
            view = 1.0 - view
        tick = TICK_SIZE[venue]
        mid = view + listing.noise[rel]
        half = listing.spread[rel] / 2
        # An honest book always brackets the venue's view, so two venues with the same view can
        # never be arbitraged against each other: only injected mispricings create arbitrage.
        bid = np.floor(np.minimum(mid - half, view) / tick + 1e-9) * tick
        ask = np.ceil(np.maximum(mid + half, view) / tick - 1e-9) * tick
        shift = np.round(listing.shock[rel] / tick) * tick
        bid = np.round(np.clip(bid + shift, tick, 1 - 2 * tick), 6)
        ask = np.round(np.maximum(np.clip(ask + shift, 2 * tick, 1 - tick), bid + tick), 6)
        corrupt = listing.corrupt[rel]
        # Corrupt records, as venues sometimes send them: a crossed book.
        bid = np.where(corrupt, np.round(ask + 0.05, 6), bid)
        return {
            "bid": bid,
            "ask": ask,
            "last": np.round(np.clip(np.round((mid + shift) / tick) * tick, tick, 1 - tick), 6),
            "volume": listing.volume[rel],
            "bid_size": listing.sizes[rel, 0],
            "ask_size": listing.sizes[rel, 1],
        }

    def tick_frame(self, start: datetime, end: datetime) -> pl.DataFrame:
        """Every quote of every market at steps in ``(start, end]``, as one columnar frame.

        Rows are grouped by market, in time order within each market.
        """
        first, last = self.step_at(start) + 1, self.step_at(end)
        # Build flat numpy columns and one frame at the end: a frame per market is ~100× slower.
        names: list[tuple[str, str]] = []
        codes: list[np.ndarray] = []
        steps_parts: list[np.ndarray] = []
        columns: dict[str, list[np.ndarray]] = {name: [] for name in _QUOTE_COLUMNS}
        for event in self.events_between(first, last):
            lo, hi = max(first, event.open_step), min(last, event.close_step - 1)
            if lo > hi:
                continue
            steps = np.arange(lo, hi + 1)
            for venue, listing in event.listings.items():
                quotes = self.quotes(event, venue, steps)
                codes.append(np.full(steps.size, len(names), dtype=np.int32))
                names.append((venue, listing.market_id))
                steps_parts.append(steps)
                for name in _QUOTE_COLUMNS:
                    columns[name].append(quotes[name])
        if not names:
            return pl.DataFrame(schema=_EMPTY_FRAME_SCHEMA)
        code = np.concatenate(codes)
        micros = (
            EPOCH.timestamp() * 1e6 + np.concatenate(steps_parts) * self.config.step_seconds * 1e6
        ).astype(np.int64)
        index = pl.Series(code)
        frame = pl.DataFrame(
            {
                "venue": pl.Series([venue for venue, _ in names]).gather(index),
                "venue_market_id": pl.Series([market for _, market in names]).gather(index),
                "tick_ts": micros,
                **{name: np.concatenate(parts) for name, parts in columns.items()},
            }
        )
        return frame.with_columns(pl.col("tick_ts").cast(pl.Datetime("us", "UTC")))

    # -- catalogue ---------------------------------------------------------------------------
    def markets(self, at: datetime, *, keep_closed_steps: int | None = None) -> list[MarketRecord]:
        """Markets visible at ``at``: open ones, and closed ones until well after resolution."""
        step = self.step_at(at)
        keep = self.config.max_life_steps if keep_closed_steps is None else keep_closed_steps
        records: list[MarketRecord] = []
        for event in self.events_between(step - keep, step):
            records.extend(self._market_records(event, step))
        return records

    def _market_records(self, event: Event, step: int) -> list[MarketRecord]:
        status: MarketStatus = "open"
        resolution = None
        resolved_at = None
        resolve_step = event.close_step + RESOLUTION_DELAY_STEPS
        if step >= resolve_step:
            status = "resolved"
            resolved_at = self.time_of(resolve_step)
        elif step >= event.close_step:
            status = "pending_resolution"
        records = []
        subject = SUBJECTS[event.category]
        for venue, listing in event.listings.items():
            if status == "resolved":
                flipped = listing.relation == "complement"
                resolution = (
                    ("no" if event.outcome == "yes" else "yes") if flipped else event.outcome
                )
            wording = "stay below" if listing.relation == "complement" else "finish above"
            records.append(
                MarketRecord(
                    venue=venue,
                    venue_market_id=listing.market_id,
                    title=f"Will {subject} #{event.slot} {wording} {event.threshold} "
                    f"(round {event.generation})?",
                    status=status,
                    close_time=self.time_of(event.close_step),
                    event_id=event.event_id,
                    category=event.category,
                    rules=f"Resolves from the simulator's hidden truth for {event.event_id}.",
                    resolution=resolution,  # type: ignore[arg-type]
                    resolved_at=resolved_at,
                    fee_schedule="kalshi" if venue == KALSHI else "polymarket",
                    fee_multiplier=Decimal(1) if venue == KALSHI else None,
                    fee_rate=POLYMARKET_FEE_RATE if venue == POLYMARKET else None,
                    tick_size=TICK_SIZE[venue],
                )
            )
        return records

    def links(self, at: datetime) -> list[LinkRecord]:
        """The simulator knows which markets are the same event: confirmed links."""
        step = self.step_at(at)
        links = []
        for event in self.events_between(step - self.config.max_life_steps, step):
            if len(event.listings) == 2:
                other = event.listings[POLYMARKET]
                links.append(
                    LinkRecord(
                        venue_a=KALSHI,
                        market_a=event.listings[KALSHI].market_id,
                        venue_b=POLYMARKET,
                        market_b=other.market_id,
                        relation=other.relation,
                    )
                )
        return links

    # -- truth -------------------------------------------------------------------------------
    def truth(self, start: datetime, end: datetime) -> dict[str, Any]:
        """The hidden state behind ``(start, end]``: true probabilities, outcomes, mispricings."""
        first, last = self.step_at(start) + 1, self.step_at(end)
        events = []
        for event in self.events_between(first, last):
            lo, hi = max(first, event.open_step), min(last, event.close_step - 1)
            steps = np.arange(lo, hi + 1)
            corrupt = [
                {
                    "venue": venue,
                    "market_id": listing.market_id,
                    "ts": self.time_of(int(s)).isoformat(),
                }
                for venue, listing in event.listings.items()
                for s in steps[listing.corrupt[steps - event.open_step]]
            ]
            events.append(
                {
                    "event_id": event.event_id,
                    "markets": {v: listing.market_id for v, listing in event.listings.items()},
                    "relations": {v: listing.relation for v, listing in event.listings.items()},
                    "open_time": self.time_of(event.open_step).isoformat(),
                    "close_time": self.time_of(event.close_step).isoformat(),
                    "outcome": event.outcome,
                    "final_probability": float(event.probability[-1]),
                    "true_probability": [
                        [
                            self.time_of(int(s)).isoformat(),
                            float(event.probability[s - event.open_step]),
                        ]
                        for s in steps
                    ],
                    "mispricings": [
                        {
                            "venue": m.venue,
                            "market_id": event.listings[m.venue].market_id,
                            "start": self.time_of(m.start_step).isoformat(),
                            "end": self.time_of(m.end_step).isoformat(),
                            "delta": m.delta,
                        }
                        for listing in event.listings.values()
                        for m in listing.mispricings
                        if m.end_step > first and m.start_step <= last
                    ],
                    "corrupt_quotes": corrupt,
                }
            )
        return {
            "seed": self.config.seed,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "events": events,
        }


def _market_id(venue: str, slot: int, generation: int) -> str:
    if venue == KALSHI:
        return f"SIMK-{slot:05d}-{generation:06d}"
    return f"sim-poly-{slot}-{generation}"
