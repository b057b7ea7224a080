"""Engine creation: the only place that knows how to connect to each dialect."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from edgewatch.config import Settings
from edgewatch.db.instrumentation import instrument
from edgewatch.errors import DatabaseUnavailable


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while a pipeline writes; a busy timeout turns brief writer contention
    # into a wait instead of an error. Foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


#: A pooled connection that sat unused this long is pinged before it is handed out again.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_after_idle(engine: Engine) -> None:
    """Ping a pooled connection before reuse only when it has sat idle, instead of every time.

    A connection can die while it sits in the pool (PostgreSQL restarted, a proxy or a
    ``pg_terminate_backend`` closed it); handing it out would fail the request that gets it. The
    pool's own ``pre_ping`` checks on every checkout, a round trip that was a third of an
    uncached API read's database time (docs/performance.md). Under load a connection comes back
    into use within milliseconds, and one that was pinged or used a moment ago is as likely to
    be alive as a ping can show, so only connections idle for ``PING_AFTER_IDLE_SECONDS`` are
    pinged. A dead one is discarded and the pool connects afresh (``DisconnectionError``); the
    pool also drops every older connection once any query finds one dead.
    """

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("pooled connection was dead; connecting afresh") from exc

    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)


#: A file holding the PostgreSQL password, read on every new connection (see ``create_db_engine``).
PASSWORD_FILE_ENV = "EDGEWATCH_DATABASE_PASSWORD_FILE"


def _password_from(path: Path) -> Callable[..., None]:
    def read_password(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        try:
            cparams["password"] = path.read_text().strip()
        except OSError as exc:
            raise DatabaseUnavailable(
                f"{PASSWORD_FILE_ENV}: cannot read {path}: {exc.strerror}"
            ) from None

    return read_password


def create_db_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, connect_timeout: int = 10
) -> Engine:
    """Create an engine for ``url`` (``sqlite:///…`` or ``postgresql://…``).

    PostgreSQL URLs without a driver get psycopg 3. Prepared statements are disabled so that the
    engine works through PgBouncer in transaction pooling mode.

    With ``EDGEWATCH_DATABASE_PASSWORD_FILE`` set (a mounted secret), the password is read from
    that file for every *new* connection instead of being fixed in the URL: rotating the
    credential means updating the secret, and pooled connections pick it up as they are recycled
    or re-established — no restart. It is read here, not from ``Settings``, because every process
    (API, workers, CLI, migrations) makes its engines through this one function.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        instrument(engine)
        return engine
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(
        parsed,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"prepare_threshold": None, "connect_timeout": connect_timeout},
    )
    _ping_after_idle(engine)
    password_file = os.environ.get(PASSWORD_FILE_ENV)
    if password_file:
        event.listen(engine, "do_connect", _password_from(Path(password_file)))
    instrument(engine)
    return engine


def engine_from_settings(settings: Settings) -> Engine:
    return create_db_engine(settings.resolved_database_url)
