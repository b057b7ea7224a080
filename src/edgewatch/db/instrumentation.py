"""What the database looks like from inside the process: pool use, query latency, table sizes.

Installed on every engine by ``create_db_engine``, so the API, pipelines and workers all report the
same way. Query timing hangs off SQLAlchemy's cursor events (one ``perf_counter`` pair per
statement, cheap next to the round trip); pool use is read when Prometheus scrapes, by a
collector, so it costs nothing between scrapes. Table sizes need a query, so they are read only
for engines a long-running process registers with ``watch_storage`` (the API's, for as long as it
serves): a scrape must never open a connection on a short-lived engine that was disposed (a CLI's,
a migration's). They come from a catalog query on PostgreSQL (the file size on SQLite), cached
for a minute because a scrape must not load the database it is watching.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.pool import QueuePool

from edgewatch.observability.metrics import (
    DB_ERRORS,
    DB_QUERY_DURATION,
    DB_SLOW_QUERIES,
    register_scrape_time,
)

SLOW_QUERY_SECONDS = 1.0
TABLE_SIZE_TTL_SECONDS = 60.0
_OPERATIONS = frozenset({"select", "insert", "update", "delete", "copy", "with", "begin", "commit"})

_TABLE_SIZES_SQL = text(
    "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() "
    "ORDER BY 2 DESC LIMIT 20"
)


def _operation(statement: str) -> str:
    word = statement.lstrip().split(None, 1)[0].lower() if statement.strip() else ""
    return word if word in _OPERATIONS else "other"


def _before(
    conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: bool
) -> None:
    context._edgewatch_started = time.perf_counter()


def _after(
    conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
) -> None:
    started = getattr(context, "_edgewatch_started", None)
    if started is None:
        return
    elapsed = time.perf_counter() - started
    DB_QUERY_DURATION.labels(operation=_operation(statement)).observe(elapsed)
    if elapsed > SLOW_QUERY_SECONDS:
        DB_SLOW_QUERIES.inc()


def _error(context: ExceptionContext) -> None:
    # A failure to connect at all arrives without a connection; count it with lost connections.
    lost = context.is_disconnect or context.connection is None
    DB_ERRORS.labels(kind="connection" if lost else "statement").inc()


class _EngineCollector(Collector):
    """Pool state and table sizes of every live engine in the process, read at scrape time."""

    def __init__(self) -> None:
        self._engines: weakref.WeakSet[Engine] = weakref.WeakSet()
        self._storage: weakref.WeakSet[Engine] = weakref.WeakSet()
        self._sizes: dict[str, tuple[float, dict[str, int]]] = {}
        self._lock = threading.Lock()

    def track(self, engine: Engine) -> None:
        with self._lock:
            self._engines.add(engine)

    def watch_storage(self, engine: Engine, *, watch: bool) -> None:
        with self._lock:
            if watch:
                self._storage.add(engine)
            else:
                self._storage.discard(engine)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = GaugeMetricFamily(
            "edgewatch_db_pool_connections",
            "Database connections of this process's pools, by state.",
            labels=["database", "state"],
        )
        sizes = GaugeMetricFamily(
            "edgewatch_table_size_bytes",
            "On-disk size of the largest tables, indexes and TOAST included (storage growth).",
            labels=["database", "table"],
        )
        with self._lock:
            engines = list(self._engines)
            storage = list(self._storage)
        for engine in engines:
            name = engine.url.database or "default"
            if isinstance(engine.pool, QueuePool):
                in_use = engine.pool.checkedout()
                pool.add_metric([name, "in_use"], in_use)
                pool.add_metric([name, "idle"], engine.pool.checkedin())
                pool.add_metric([name, "overflow"], max(engine.pool.overflow(), 0))
                pool.add_metric([name, "limit"], engine.pool.size() + engine.pool._max_overflow)
        for engine in storage:
            name = engine.url.database or "default"
            for table, size in self._table_sizes(engine).items():
                sizes.add_metric([name, table], size)
        yield pool
        yield sizes

    def _table_sizes(self, engine: Engine) -> dict[str, int]:
        key = str(engine.url)
        cached = self._sizes.get(key)
        if cached is not None and time.monotonic() - cached[0] < TABLE_SIZE_TTL_SECONDS:
            return cached[1]
        try:
            measured = _measure(engine)
        except Exception:  # a scrape must never fail because the database is down
            measured = cached[1] if cached else {}
        self._sizes[key] = (time.monotonic(), measured)
        return measured


def _measure(engine: Engine) -> dict[str, int]:
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:" or not Path(database).exists():
            return {}
        return {"(all)": Path(database).stat().st_size}
    with engine.connect() as connection:
        return {str(name): int(size) for name, size in connection.execute(_TABLE_SIZES_SQL)}


_COLLECTOR = _EngineCollector()
register_scrape_time(_COLLECTOR)


def instrument(engine: Engine) -> None:
    """Time every statement, count errors, and report pool use and table sizes for ``engine``."""
    event.listen(engine, "before_cursor_execute", _before)
    event.listen(engine, "after_cursor_execute", _after)
    event.listen(engine, "handle_error", _error)
    _COLLECTOR.track(engine)


def watch_storage(engine: Engine, *, watch: bool = True) -> None:
    """Report ``engine``'s table sizes on /metrics (``watch=False`` stops it before disposal)."""
    _COLLECTOR.watch_storage(engine, watch=watch)
