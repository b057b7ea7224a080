"""Recording a venue: poll its ``Venue.fetch`` through recording transports, on a schedule.

Kalshi and Polymarket are recorded as raw HTTP responses (``RecordingTransport`` under the same
clients the live venues use); the simulator has no HTTP, so its normalised fetch results are
recorded instead. A poll that fails with ``VenueUnavailable`` or ``InvalidInput`` is recorded
with its error and polling goes on (the next poll's window starts where the last good one
ended); configuration errors (refused credentials) stop the recording.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from edgewatch.clock import utcnow
from edgewatch.config import Settings
from edgewatch.errors import InvalidInput, VenueUnavailable
from edgewatch.venues.base import Venue
from edgewatch.venues.recording import RECORDABLE_VENUES, Recorder, RecordingTransport
from edgewatch.venues.resilience import RetryPolicy

#: Longest pause between progress reports while waiting for the next poll, in seconds.
PROGRESS_STEP_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class RecordingSummary:
    out: Path
    venue: str
    polls: int
    failed_polls: int
    responses: int
    frames: int
    results: int
    body_bytes: int
    interrupted: bool


Progress = Callable[[Recorder, float, int], None]


def record_venue(
    venue: str,
    *,
    settings: Settings,
    out: Path,
    duration: float | None,
    interval: float,
    on_progress: Progress | None = None,
    inner_transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = utcnow,
) -> RecordingSummary:
    """Poll ``venue`` every ``interval`` seconds for ``duration`` seconds (``None``: until
    Ctrl-C) and write the recording to ``out``. Ctrl-C ends the recording cleanly; the
    manifest is finalised either way. ``InvalidInput`` for a bad venue, interval or ``out``."""
    if venue not in RECORDABLE_VENUES:
        raise InvalidInput(f"cannot record {venue!r}: choose one of {', '.join(RECORDABLE_VENUES)}")
    if not 0 < interval < math.inf:
        raise InvalidInput(f"--interval must be a positive number of seconds, got {interval!r}")
    if duration is not None and not 0 <= duration < math.inf:
        raise InvalidInput(f"--duration must be a number of seconds >= 0, got {duration!r}")
    endpoints, options = _venue_terms(venue, settings)
    recorder = Recorder(
        out, venue=venue, endpoints=endpoints, options=options, clock=clock, now=now
    )
    failed = 0
    interrupted = False
    live: Venue | None = None
    try:
        live = _live_venue(venue, settings, RecordingTransport(recorder, inner_transport))
        started = clock()
        since: datetime | None = None
        polls = 0
        while True:
            until = now()
            recorder.begin_poll(since=since, until=until)
            try:
                result = live.fetch(since=since, until=until)
            except (VenueUnavailable, InvalidInput) as exc:
                recorder.end_poll(error=exc.message)
                failed += 1
            else:
                if venue == "sim":
                    recorder.results(result)
                recorder.end_poll()
                since = until
            polls += 1
            if on_progress:
                on_progress(recorder, clock() - started, failed)
            next_poll = polls * interval
            end = next_poll if duration is None else min(next_poll, duration)
            while (elapsed := clock() - started) < end:
                sleep(min(PROGRESS_STEP_SECONDS, end - elapsed))
                if on_progress:
                    on_progress(recorder, clock() - started, failed)
            if duration is not None and clock() - started >= duration:
                break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        close = getattr(live, "close", None)
        if close is not None:
            close()
        recorder.close()
    counts = recorder.counts
    return RecordingSummary(
        out=out,
        venue=venue,
        polls=counts["polls"],
        failed_polls=failed,
        responses=counts["responses"],
        frames=counts["frames"],
        results=counts["results"],
        body_bytes=counts["body_bytes"],
        interrupted=interrupted,
    )


def _venue_terms(venue: str, settings: Settings) -> tuple[dict[str, str], dict[str, Any]]:
    """What replay needs to rebuild the same clients: endpoints and paging/retry options."""
    options: dict[str, Any] = {
        "max_pages": settings.venue_max_pages,
        "max_attempts": RetryPolicy().max_attempts,
    }
    if venue == "kalshi":
        return {"kalshi_base_url": settings.kalshi_base_url}, options
    if venue == "polymarket":
        endpoints = {
            "polymarket_gamma_url": settings.polymarket_gamma_url,
            "polymarket_clob_url": settings.polymarket_clob_url,
        }
        return endpoints, options
    sim = {
        "sim_seed": settings.sim_seed,
        "sim_events": settings.sim_events,
        "sim_step_seconds": settings.sim_step_seconds,
    }
    return {}, sim


def _live_venue(venue: str, settings: Settings, transport: RecordingTransport) -> Venue:
    if venue == "kalshi":
        from edgewatch.venues.kalshi.client import KalshiClient, KalshiSigner
        from edgewatch.venues.kalshi.venue import KalshiVenue

        signer = None
        if settings.kalshi_api_key_id and settings.kalshi_private_key_file:
            signer = KalshiSigner.from_pem_file(
                settings.kalshi_api_key_id, settings.kalshi_private_key_file
            )
        client = KalshiClient(base_url=settings.kalshi_base_url, signer=signer, transport=transport)
        return KalshiVenue(client, max_pages=settings.venue_max_pages)
    if venue == "polymarket":
        from edgewatch.venues.polymarket.client import PolymarketClient
        from edgewatch.venues.polymarket.venue import PolymarketVenue

        polymarket = PolymarketClient(
            gamma_url=settings.polymarket_gamma_url,
            clob_url=settings.polymarket_clob_url,
            transport=transport,
        )
        return PolymarketVenue(polymarket, max_pages=settings.venue_max_pages)
    from edgewatch.venues.sim.venue import SimVenue

    return SimVenue.from_settings(settings)
