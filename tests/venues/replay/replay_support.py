"""Helpers for the record/replay tests: a fake clock, fixture bodies, quick recordings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from edgewatch.config import Settings, load_settings
from edgewatch.venues.normalize import unwrap_recording
from edgewatch.venues.replay.record import RecordingSummary, record_venue

FIXTURES = Path(__file__).parents[2] / "fixtures" / "venues"
KALSHI_API = "/trade-api/v2"
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def fixture_body(name: str) -> Any:
    return unwrap_recording(json.loads((FIXTURES / name).read_text()))[0]


class FakeTime:
    """A monotonic clock, a sleep that advances it, and a UTC wall clock that follows it."""

    def __init__(self, start: datetime = T0) -> None:
        self.start = start
        self.seconds = 0.0

    def clock(self) -> float:
        return self.seconds

    def sleep(self, seconds: float) -> None:
        self.seconds += seconds

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)


def record(
    venue: str, out: Path, settings: Settings, *, polls: int = 1, interval: float = 1.0
) -> RecordingSummary:
    """Record ``polls`` polls ``interval`` seconds apart, on a fake clock (no real waiting)."""
    fake = FakeTime()
    return record_venue(
        venue,
        settings=settings,
        out=out,
        duration=(polls - 1) * interval + interval / 2,
        interval=interval,
        clock=fake.clock,
        sleep=fake.sleep,
        now=fake.now,
    )


def small_sim_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"sim_events": 6, "sim_step_seconds": 1.0, "sim_seed": 11}
    values.update(overrides)
    return load_settings(**values)
