"""A seam for timing feature computation without making ``features`` depend on metrics.

``features`` is pure (no metrics, database or network), yet operators want to know how long
features take to compute. The compute functions wrap their work in ``timed(group)``; whoever calls
them — the signals service, a benchmark — installs an observer with ``observing(callback)`` for
the duration of the call. Without an observer, ``timed`` costs one context-variable lookup.
The observer is a context variable, so concurrent threads each see only their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: Called with the feature group (``market`` or ``pair``) and the seconds its computation took.
Observer = Callable[[str, float], None]

_observer: ContextVar[Observer | None] = ContextVar("feature_timing_observer", default=None)


@contextmanager
def observing(observer: Observer) -> Iterator[None]:
    """Report every feature computation inside the block to ``observer``."""
    token = _observer.set(observer)
    try:
        yield
    finally:
        _observer.reset(token)


@contextmanager
def timed(group: str) -> Iterator[None]:
    """Time the block and report it to the current observer, if any (also when it raises)."""
    observer = _observer.get()
    if observer is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        observer(group, time.perf_counter() - started)
