"""The simulator as a polling venue: it can replay any past window, so ingest can backfill."""

from __future__ import annotations

from datetime import datetime, timedelta

from edgewatch.config import Settings
from edgewatch.venues.base import Capabilities, FetchResult, TickRecord
from edgewatch.venues.sim.world import SimConfig, SimWorld


class SimVenue:
    name = "sim"
    capabilities = Capabilities(history=True)

    def __init__(self, world: SimWorld) -> None:
        self.world = world

    @classmethod
    def from_settings(cls, settings: Settings) -> SimVenue:
        config = SimConfig(
            seed=settings.sim_seed,
            events=settings.sim_events,
            step_seconds=settings.sim_step_seconds,
        )
        return cls(SimWorld(config))

    def fetch(self, *, since: datetime | None, until: datetime) -> FetchResult:
        start = since or until - timedelta(seconds=self.world.config.step_seconds)
        frame = self.world.tick_frame(start, until)
        ticks = [
            TickRecord(
                venue=row["venue"],
                venue_market_id=row["venue_market_id"],
                ts=row["tick_ts"],
                bid=row["bid"],
                ask=row["ask"],
                last=row["last"],
                volume=row["volume"],
                bid_size=row["bid_size"],
                ask_size=row["ask_size"],
            )
            for row in frame.iter_rows(named=True)
        ]
        return FetchResult(
            markets=self.world.markets(until), ticks=ticks, links=self.world.links(until)
        )
