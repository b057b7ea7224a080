"""A few seconds of memory for what live panels poll, so ten open dashboards cost one query.

Values live on the app (``app.state``), per process, keyed by name and the request's filters.
Only data that may be a few seconds old goes here (the overview panels, the signal feed), and
data that cannot change (a finished backtest's thinned equity curve).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from fastapi import Request

T = TypeVar("T")

#: How long a polled panel's data is reused; below the shortest polling interval (5 s).
LIVE_TTL_SECONDS = 2.0
_MAX_ENTRIES = 256


class TTLCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    def get_or_compute(self, key: Hashable, compute: Callable[[], T], *, ttl: float) -> T:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                value: T = hit[1]
                return value
        value = compute()
        with self._lock:
            if len(self._entries) >= _MAX_ENTRIES:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) >= _MAX_ENTRIES:
                    self._entries.clear()
            self._entries[key] = (now + ttl, value)
        return value


def live_cache(request: Request) -> TTLCache:
    state = request.app.state
    cache: TTLCache | None = getattr(state, "dashboard_cache", None)
    if cache is None:
        cache = state.dashboard_cache = TTLCache()
    return cache
