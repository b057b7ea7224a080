"""Which venue object serves each configured source name (``EDGEWATCH_SOURCES``)."""

from __future__ import annotations

from collections.abc import Callable

from edgewatch.config import Settings
from edgewatch.errors import ConfigError
from edgewatch.venues.base import Venue


def _sim(settings: Settings) -> Venue:
    from edgewatch.venues.sim.venue import SimVenue

    return SimVenue.from_settings(settings)


FACTORIES: dict[str, Callable[[Settings], Venue]] = {"sim": _sim}


def create_venue(source: str, settings: Settings) -> Venue:
    try:
        factory = FACTORIES[source]
    except KeyError:
        available = ", ".join(sorted(FACTORIES))
        raise ConfigError(f"source {source!r} is not available (available: {available})") from None
    return factory(settings)
