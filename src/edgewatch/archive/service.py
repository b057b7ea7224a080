"""Archive operations the CLI and retention share: open the store, list days, restore a range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.archive import backtests, ticks
from edgewatch.archive.manifest import Manifest
from edgewatch.archive.partition import TableSpec, list_manifests, read_partition
from edgewatch.archive.progress import NULL_TRACKER, Tracker
from edgewatch.archive.store import ObjectStore, open_store
from edgewatch.config import Settings
from edgewatch.db.session import session_scope
from edgewatch.observability.metrics import ARCHIVE_SIZE

KINDS = (ticks.KIND, backtests.KIND)
#: Per kind, the tables its archived days hold.
SPECS: dict[str, dict[str, TableSpec]] = {
    ticks.KIND: {ticks.SPEC.name: ticks.SPEC},
    backtests.KIND: {spec.name: spec for spec, _ in backtests.TABLES},
}


def archive_location(settings: Settings) -> str:
    return settings.archive_url or str(settings.data_dir / "archive")


def store_from_settings(settings: Settings) -> ObjectStore:
    """The configured archive store (``EDGEWATCH_ARCHIVE_URL``; a local directory by default)."""
    return open_store(archive_location(settings), endpoint_url=settings.archive_endpoint_url)


def measure_archive(store: ObjectStore) -> dict[str, int]:
    """Bytes archived per kind, from the manifests; also set on ``edgewatch_archive_size_bytes``.

    Storage growth is watched on the database (``edgewatch_table_size_bytes``) and here: what
    retention moves out of one must show up in the other.
    """
    sizes = {kind: sum(m.total_bytes for m in list_manifests(store, kind)) for kind in KINDS}
    for kind, size in sizes.items():
        ARCHIVE_SIZE.labels(kind=kind).set(size)
    return sizes


def days_in(start: datetime, end: datetime) -> list[date]:
    """The UTC days that ``[start, end)`` touches."""
    first, days = start.date(), []
    while datetime(first.year, first.month, first.day, tzinfo=start.tzinfo) < end:
        days.append(first)
        first += timedelta(days=1)
    return days


def manifests_in(
    store: ObjectStore, kind: str, start: datetime | None, end: datetime | None
) -> list[Manifest]:
    return [
        m
        for m in list_manifests(store, kind)
        if (start is None or m.end > start) and (end is None or m.start < end)
    ]


@dataclass(slots=True)
class RestoreSummary:
    days: int = 0
    ticks_read: int = 0
    ticks_stored: int = 0
    ticks_unknown_market: int = 0
    runs_read: int = 0
    runs_stored: int = 0

    def line(self) -> str:
        text = (
            f"restored {self.days} archived days: {self.ticks_stored} of {self.ticks_read} ticks "
            f"stored ({self.ticks_read - self.ticks_stored - self.ticks_unknown_market} "
            f"already present"
        )
        if self.ticks_unknown_market:
            text += f", {self.ticks_unknown_market} skipped: their market is not in this database"
        return text + f"), {self.runs_stored} of {self.runs_read} backtest runs stored"


def restore_range(
    factory: sessionmaker[Session],
    store: ObjectStore,
    *,
    start: datetime,
    end: datetime,
    kinds: tuple[str, ...] = KINDS,
    tracker: Tracker = NULL_TRACKER,
) -> RestoreSummary:
    """Bring archived rows with times in ``[start, end)`` back into the database.

    Every file is verified (SHA-256 and content checksum) before a row of it is stored; each day
    is committed on its own, so an interrupted restore resumes where it stopped when re-run.
    """
    summary = RestoreSummary()
    plan = [(kind, m) for kind in kinds for m in manifests_in(store, kind, start, end)]
    tracker.stage("restoring archived days", total=len(plan))
    for kind, manifest in plan:
        frames = read_partition(store, manifest, SPECS[kind])
        if kind == ticks.KIND:
            frame = frames.get(ticks.SPEC.name)
            if frame is not None:
                in_range = frame.filter((pl.col("tick_ts") >= start) & (pl.col("tick_ts") < end))
                with session_scope(factory) as session:
                    restored = ticks.restore_ticks(session, in_range)
                summary.ticks_read += restored.read
                summary.ticks_stored += restored.stored
                summary.ticks_unknown_market += restored.unknown_market
        else:
            runs = frames.get(backtests.RUNS.name)
            if runs is not None:
                ids = runs.filter(
                    (pl.col("created_at") >= start) & (pl.col("created_at") < end)
                ).get_column("id")
                with session_scope(factory) as session:
                    summary.runs_stored += backtests.restore_runs(session, frames, ids.to_list())
                summary.runs_read += ids.len()
        summary.days += 1
        tracker.advance()
    return summary
