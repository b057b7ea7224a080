"""Which venue object serves each configured source name (``EDGEWATCH_SOURCES``)."""

from __future__ import annotations

import math
from collections.abc import Callable

from edgewatch.config import Settings
from edgewatch.errors import ConfigError
from edgewatch.venues.base import Venue


def _sim(settings: Settings) -> Venue:
    from edgewatch.venues.sim.venue import SimVenue

    return SimVenue.from_settings(settings)


def _kalshi(settings: Settings) -> Venue:
    from edgewatch.venues.kalshi.client import KalshiClient, KalshiSigner
    from edgewatch.venues.kalshi.venue import KalshiVenue

    signer = None
    if settings.kalshi_api_key_id and settings.kalshi_private_key_file:
        signer = KalshiSigner.from_pem_file(
            settings.kalshi_api_key_id, settings.kalshi_private_key_file
        )
    client = KalshiClient(base_url=settings.kalshi_base_url, signer=signer)
    return KalshiVenue(client, max_pages=settings.venue_max_pages)


def _polymarket(settings: Settings) -> Venue:
    from edgewatch.venues.polymarket.client import PolymarketClient
    from edgewatch.venues.polymarket.venue import PolymarketVenue

    client = PolymarketClient(
        gamma_url=settings.polymarket_gamma_url, clob_url=settings.polymarket_clob_url
    )
    return PolymarketVenue(client, max_pages=settings.venue_max_pages)


def _replay(settings: Settings) -> Venue:
    from edgewatch.venues.replay.venue import open_replay

    # The recording's times move to now, so a replay looks like a live source; speed 0 plays the
    # whole recording at once.
    speed = settings.replay_speed or math.inf
    return open_replay(settings.recording_dir, speed=speed, retime=True)


FACTORIES: dict[str, Callable[[Settings], Venue]] = {
    "sim": _sim,
    "kalshi": _kalshi,
    "polymarket": _polymarket,
    "replay": _replay,
}


def create_venue(source: str, settings: Settings) -> Venue:
    try:
        factory = FACTORIES[source]
    except KeyError:
        available = ", ".join(sorted(FACTORIES))
        raise ConfigError(f"source {source!r} is not available (available: {available})") from None
    return factory(settings)
