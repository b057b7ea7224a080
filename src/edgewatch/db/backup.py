"""Database backups: a consistent copy with a checksum, stored in a directory or S3, and restore.

PostgreSQL: ``pg_dump --format=custom`` (compressed, restorable table by table, from one MVCC
snapshot, so writers carry on) and ``pg_restore --single-transaction`` (a failed restore changes
nothing). SQLite: the online backup API, which copies a live database page by page without
stopping writers. Each backup ``edgewatch-<UTC time>.<dump|sqlite3>`` gets two sidecars: a
``.sha256`` in ``sha256sum`` format (check by hand with ``sha256sum -c``) and a ``.json`` manifest
(size, checksum, dialect, schema revision). A restore refuses a file whose checksum is missing or
wrong, a file of the other dialect, and — without ``force`` — a database that already holds data.

Old backups are pruned after each new one: those older than the retention (days) go, but the
newest ``keep_min`` always stay, however old.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from edgewatch.archive.progress import NULL_TRACKER, Tracker
from edgewatch.archive.store import LocalStore, ObjectStore, open_store
from edgewatch.db.engine import PASSWORD_FILE_ENV, create_db_engine
from edgewatch.db.scratch import pg_bin
from edgewatch.errors import (
    ConfigError,
    Conflict,
    EdgewatchError,
    InvalidInput,
    NotFound,
    TemporaryError,
)

SUFFIXES = {"postgresql": ".dump", "sqlite": ".sqlite3"}
_NAME = re.compile(r"^edgewatch-\d{8}T\d{6}Z\.(dump|sqlite3)$")
#: Tables whose row counts a restore reports, so the operator sees at once what came back.
REPORTED_TABLES = ("markets", "odds_ticks", "signals", "backtest_runs", "pipeline_runs")


class ChecksumMismatch(InvalidInput):
    """The backup file is not the one that was written: refuse to restore it."""

    code = "checksum-mismatch"


@dataclass(frozen=True, slots=True)
class BackupInfo:
    key: str
    dialect: str
    created_at: datetime
    size: int
    sha256: str
    revision: str | None
    location: str

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "file": self.key,
                "dialect": self.dialect,
                "created_at": self.created_at.isoformat(),
                "bytes": self.size,
                "sha256": self.sha256,
                "alembic_revision": self.revision,
            },
            indent=2,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes, *, location: str) -> BackupInfo:
        try:
            document = json.loads(data)
            return cls(
                key=str(document["file"]),
                dialect=str(document["dialect"]),
                created_at=datetime.fromisoformat(document["created_at"]),
                size=int(document["bytes"]),
                sha256=str(document["sha256"]),
                revision=document.get("alembic_revision"),
                location=location,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"backup manifest in {location} is damaged: {exc}") from None

    def line(self) -> str:
        return (
            f"backup {self.location.rstrip('/')}/{self.key}: {self.size} bytes, "
            f"sha256 {self.sha256[:16]}…"
        )


@dataclass(frozen=True, slots=True)
class RestoreResult:
    source: str
    database: str
    rows: dict[str, int]

    def line(self) -> str:
        counts = ", ".join(f"{n} {table}" for table, n in self.rows.items())
        return f"restored {self.source} into {self.database}: {counts}"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _binary(name: str) -> str:
    try:
        candidate = pg_bin() / name
    except ConfigError:
        candidate = None
    if candidate is not None and candidate.is_file():
        return str(candidate)
    raise ConfigError(
        f"{name} not found: install the PostgreSQL client (Debian: postgresql-client)"
    )


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URL without the password, and the environment that carries it."""
    env = dict(os.environ)
    password = url.password
    password_file = os.environ.get(PASSWORD_FILE_ENV)
    if password_file:
        password = Path(password_file).read_text().strip()
    if password:
        env["PGPASSWORD"] = str(password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run_pg_tool(
    command: list[str], env: dict[str, str], *, on_line: Callable[[str], None]
) -> None:
    """Run a PostgreSQL client tool, feeding its verbose stderr lines to ``on_line``."""
    name = Path(command[0]).name
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    errors: list[str] = []
    for line in process.stderr:
        on_line(line)
        if "error" in line.lower() or "fatal" in line.lower():
            errors.append(line.strip())
    if process.wait() != 0:
        reason = errors[0] if errors else f"exit status {process.returncode}"
        raise TemporaryError(f"{name} failed: {reason}")


def _schema_revision(url: str) -> str | None:
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:
        return None
    finally:
        engine.dispose()


def _dump_postgres(url: URL, target: Path, tracker: Tracker) -> None:
    conninfo, env = _libpq(url)
    engine = create_db_engine(url.render_as_string(hide_password=False), pool_size=1)
    try:
        with engine.connect() as connection:
            tables = connection.execute(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            ).scalar_one()
    except Exception as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise TemporaryError(f"cannot reach the database: {reason}") from exc
    finally:
        engine.dispose()
    tracker.stage("dumping tables", total=tables)
    command = [
        _binary("pg_dump"),
        "--format=custom",
        "--compress=6",
        "--verbose",
        f"--file={target}",
        f"--dbname={conninfo}",
    ]

    def on_line(line: str) -> None:
        if "dumping contents of table" in line:
            tracker.advance()

    _run_pg_tool(command, env, on_line=on_line)


def _copy_sqlite(source: Path, target: Path, tracker: Tracker) -> None:
    if not source.is_file():
        raise ConfigError(f"no SQLite database at {source}")
    copied = [-1]  # pages copied so far; -1 until the first report gives the total

    def progress(_status: int, remaining: int, total: int) -> None:
        if copied[0] < 0:
            tracker.stage("copying pages", total=total)
            copied[0] = 0
        tracker.advance(total - remaining - copied[0])
        copied[0] = total - remaining

    with (
        _sqlite(source, readonly=True) as src,
        _sqlite(target) as dst,
    ):
        src.backup(dst, pages=1024, progress=progress)


@contextmanager
def _sqlite(path: Path, *, readonly: bool = False) -> Iterator[sqlite3.Connection]:
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise InvalidInput(f"cannot open {path}: {exc}") from None
    try:
        yield connection
    finally:
        connection.close()


def create_backup(
    url: str, store: ObjectStore, *, now: datetime, tracker: Tracker = NULL_TRACKER
) -> BackupInfo:
    """Back up the database at ``url`` into ``store``; returns what was written.

    Raises ``ConfigError`` if the client tools are missing, ``TemporaryError`` if the database
    or the store cannot be reached. Nothing is left behind on failure except in the temp dir.
    """
    parsed = make_url(url)
    dialect = parsed.get_backend_name()
    name = f"edgewatch-{now:%Y%m%dT%H%M%SZ}{SUFFIXES[dialect]}"
    with tempfile.TemporaryDirectory(prefix="edgewatch-backup-") as scratch:
        local = Path(scratch) / name
        if dialect == "postgresql":
            _dump_postgres(parsed, local, tracker)
        else:
            _copy_sqlite(Path(parsed.database or ""), local, tracker)
        size = local.stat().st_size
        tracker.stage("checksumming", total=None)
        checksum = _sha256_file(local)
        info = BackupInfo(
            key=name,
            dialect=dialect,
            created_at=now,
            size=size,
            sha256=checksum,
            revision=_schema_revision(url),
            location=store.location,
        )
        tracker.stage(f"uploading to {store.location}", total=size)
        store.put_file(name, local, on_bytes=tracker.advance)
    store.put_bytes(f"{name}.sha256", f"{checksum}  {name}\n".encode())
    # The manifest last: a backup without one is unfinished and is neither listed nor pruned.
    store.put_bytes(f"{name}.json", info.to_json())
    return info


def list_backups(store: ObjectStore) -> list[BackupInfo]:
    """Finished backups in ``store``, oldest first."""
    infos = [
        BackupInfo.from_json(store.get_bytes(key), location=store.location)
        for key in store.list()
        if key.endswith(".json") and _NAME.match(key.removesuffix(".json"))
    ]
    return sorted(infos, key=lambda info: info.created_at)


def prune_backups(
    store: ObjectStore, *, now: datetime, keep_days: int, keep_min: int
) -> list[BackupInfo]:
    """Delete backups older than ``keep_days``, always keeping the newest ``keep_min``."""
    backups = list_backups(store)
    doomed = [b for b in backups[:-keep_min] if b.created_at < now - timedelta(days=keep_days)]
    for backup in doomed:
        # The manifest first: a half-deleted backup then no longer looks restorable.
        for key in (f"{backup.key}.json", f"{backup.key}.sha256", backup.key):
            store.delete(key)
    return doomed


def _split_source(source: str, *, endpoint_url: str | None) -> tuple[ObjectStore, str]:
    if urlparse(source).scheme == "s3":
        parent, _, key = source.rstrip("/").rpartition("/")
        return open_store(parent, endpoint_url=endpoint_url), key
    path = Path(source).expanduser()
    return LocalStore(path.parent), path.name


def resolve_source(
    source: str, *, default_location: str, endpoint_url: str | None
) -> tuple[ObjectStore, str]:
    """``latest`` (the newest in ``default_location``), a file path or an ``s3://`` URL."""
    if source == "latest":
        store = open_store(default_location, endpoint_url=endpoint_url)
        backups = list_backups(store)
        if not backups:
            raise InvalidInput(f"no backups in {store.location}")
        return store, backups[-1].key
    return _split_source(source, endpoint_url=endpoint_url)


def _verified_download(store: ObjectStore, key: str, target: Path, tracker: Tracker) -> str:
    try:
        sidecar = store.get_bytes(f"{key}.sha256").decode().split()
    except NotFound:
        raise ChecksumMismatch(
            f"{store.location}/{key}.sha256 is missing: refusing a backup whose checksum "
            "cannot be checked"
        ) from None
    expected = sidecar[0] if sidecar else ""
    tracker.stage(f"downloading {key}", total=store.size(key))
    store.get_file(key, target, on_bytes=tracker.advance)
    tracker.stage("checksumming", total=None)
    actual = _sha256_file(target)
    if actual != expected:
        raise ChecksumMismatch(
            f"{store.location}/{key}: SHA-256 {actual[:16]}… does not match the recorded "
            f"{expected[:16]}…; the file is damaged"
        )
    return actual


def restore_backup(
    store: ObjectStore,
    key: str,
    url: str,
    *,
    force: bool = False,
    tracker: Tracker = NULL_TRACKER,
) -> RestoreResult:
    """Restore backup ``key`` from ``store`` into the database at ``url``.

    The target may be missing (it is created); if it holds tables, ``force`` is required and
    its contents are replaced. Raises ``ChecksumMismatch``, ``Conflict`` or ``InvalidInput``
    before anything in the target changes.
    """
    parsed = make_url(url)
    dialect = parsed.get_backend_name()
    if not key.endswith(SUFFIXES[dialect]):
        raise InvalidInput(f"{key} is not a {dialect} backup (expected a {SUFFIXES[dialect]} file)")
    with tempfile.TemporaryDirectory(prefix="edgewatch-restore-") as scratch:
        local = Path(scratch) / key
        _verified_download(store, key, local, tracker)
        if dialect == "postgresql":
            _restore_postgres(local, parsed, force=force, tracker=tracker)
        else:
            _restore_sqlite(local, Path(parsed.database or ""), force=force, tracker=tracker)
    return RestoreResult(
        source=f"{store.location.rstrip('/')}/{key}",
        database=parsed.render_as_string(hide_password=True),
        rows=_row_counts(url),
    )


def _row_counts(url: str) -> dict[str, int]:
    engine = create_db_engine(url, pool_size=1)
    counts: dict[str, int] = {}
    try:
        with engine.connect() as connection:
            for table in REPORTED_TABLES:
                try:
                    counts[table] = connection.execute(
                        text(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
                    ).scalar_one()
                except Exception:
                    connection.rollback()
    finally:
        engine.dispose()
    return counts


def _holds_tables(url: str) -> bool:
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            query = (
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                if engine.dialect.name == "postgresql"
                else "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            )
            return bool(connection.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def _ensure_database(url: URL) -> bool:
    """Create the target database if missing; True if it existed."""
    admin = create_db_engine(
        url.set(database="postgres").render_as_string(hide_password=False), pool_size=1
    )
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).scalar()
            if not exists:
                # sql-reviewed: the operator's own URL names it; names cannot be parameters.
                connection.execute(text(f'CREATE DATABASE "{url.database}"'))
            return bool(exists)
    except EdgewatchError:
        raise
    except Exception as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise TemporaryError(f"cannot reach the database server: {reason}") from exc
    finally:
        admin.dispose()


def _restore_postgres(dump: Path, url: URL, *, force: bool, tracker: Tracker) -> None:
    if not url.database or '"' in url.database:
        raise InvalidInput("the database URL must name a database")
    existed = _ensure_database(url)
    full = url.render_as_string(hide_password=False)
    if existed and _holds_tables(full) and not force:
        raise Conflict(
            f"database {url.database} already holds tables; pass --force to replace them"
        )
    listing = subprocess.run(
        [_binary("pg_restore"), "--list", str(dump)], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0:
        raise InvalidInput(f"{dump.name} is not a pg_dump archive: {listing.stderr.strip()}")
    entries = sum(1 for line in listing.stdout.splitlines() if line and not line.startswith(";"))
    tracker.stage("restoring", total=entries)
    conninfo, env = _libpq(url)
    command = [
        _binary("pg_restore"),
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--verbose",
        f"--dbname={conninfo}",
        str(dump),
    ]
    if existed:
        command[1:1] = ["--clean", "--if-exists"]

    def on_line(line: str) -> None:
        if line.startswith("pg_restore: creating") or "processing data for table" in line:
            tracker.advance()

    _run_pg_tool(command, env, on_line=on_line)


def _restore_sqlite(backup: Path, target: Path, *, force: bool, tracker: Tracker) -> None:
    with _sqlite(backup, readonly=True) as source:
        try:
            verdict = source.execute("PRAGMA integrity_check").fetchone()
        except sqlite3.DatabaseError as exc:
            raise InvalidInput(f"{backup.name} is not a SQLite database: {exc}") from None
        if verdict is None or verdict[0] != "ok":
            raise InvalidInput(f"{backup.name} fails SQLite's integrity check: {verdict}")
    if target.is_file() and _holds_tables(f"sqlite:///{target}") and not force:
        raise Conflict(f"{target} already holds tables; pass --force to replace them")
    target.parent.mkdir(parents=True, exist_ok=True)
    tracker.stage("restoring pages", total=None)
    with _sqlite(backup, readonly=True) as source, _sqlite(target) as destination:
        source.backup(destination, pages=1024)
