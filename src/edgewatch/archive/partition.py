"""Writing, reading and verifying one archived day in an object store.

Writing merges with what the day already holds (a re-run after a crash, or rows restored and
archived again), so archiving is idempotent and never drops rows archived before. Reading checks
every file against the manifest's SHA-256 and content checksum. ``verify_holds`` is the gate that
retention passes before it deletes anything: the archive, read back from the store, must hold
each of the given rows with identical values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from edgewatch.archive.frames import (
    content_checksum,
    from_parquet,
    sha256_hex,
    time_bounds,
    to_parquet,
)
from edgewatch.archive.manifest import (
    MANIFEST_NAME,
    ArchivedFile,
    Manifest,
    day_prefix,
    manifest_key,
)
from edgewatch.archive.store import ObjectStore
from edgewatch.errors import InvalidInput, NotFound


class ArchiveMismatch(InvalidInput):
    """The archive does not hold what it should: nothing may be deleted on its strength."""

    code = "archive-mismatch"


@dataclass(frozen=True, slots=True)
class TableSpec:
    """How one table is archived: its key (for merging and comparing) and its time column."""

    name: str
    keys: tuple[str, ...]
    time_column: str


def load_manifest(store: ObjectStore, kind: str, day: date) -> Manifest | None:
    key = manifest_key(kind, day)
    try:
        data = store.get_bytes(key)
    except NotFound:
        return None
    return Manifest.from_json(data, key=key)


def list_manifests(store: ObjectStore, kind: str) -> list[Manifest]:
    """Every finished day of ``kind``, oldest first."""
    keys = [k for k in store.list(f"{kind}/") if k.endswith(f"/{MANIFEST_NAME}")]
    return [Manifest.from_json(store.get_bytes(key), key=key) for key in keys]


def read_partition(
    store: ObjectStore, manifest: Manifest, specs: Mapping[str, TableSpec]
) -> dict[str, pl.DataFrame]:
    """The day's tables, each checked against the manifest; ``ArchiveMismatch`` if damaged.

    Checks per file: the object's SHA-256, the row count and the content checksum of the rows
    (keyed by ``specs``, table name to ``TableSpec``).
    """
    frames: dict[str, pl.DataFrame] = {}
    for archived in manifest.files:
        spec = specs.get(archived.table)
        if spec is None:
            raise ArchiveMismatch(f"{archived.key}: unexpected table {archived.table}")
        data = store.get_bytes(archived.key)
        if sha256_hex(data) != archived.sha256:
            raise ArchiveMismatch(f"{store.location}/{archived.key}: SHA-256 does not match")
        frame = from_parquet(data, name=archived.key)
        if frame.height != archived.rows:
            raise ArchiveMismatch(
                f"{archived.key}: {frame.height} rows, the manifest says {archived.rows}"
            )
        if content_checksum(frame, spec.keys) != archived.content_sha256:
            raise ArchiveMismatch(f"{archived.key}: content checksum does not match the manifest")
        frames[archived.table] = frame
    return frames


def write_partition(
    store: ObjectStore,
    kind: str,
    day: date,
    tables: Sequence[tuple[TableSpec, pl.DataFrame]],
    *,
    now: datetime,
) -> Manifest:
    """Archive ``tables`` as ``kind``'s ``day``, merged with rows the day already holds.

    Rows already archived win over new rows with the same key (archived data is immutable). The
    manifest is written last, so a crash leaves the previous manifest (or none) in charge.
    """
    previous = load_manifest(store, kind, day)
    specs = {spec.name: spec for spec, _ in tables}
    existing = read_partition(store, previous, specs) if previous is not None else {}
    files: list[ArchivedFile] = []
    changed = previous is None
    for spec, frame in tables:
        old = existing.get(spec.name)
        merged = frame if old is None else _merge(old, frame, spec)
        archived = previous.file(spec.name) if previous is not None else None
        if old is not None and archived is not None and merged.height == old.height:
            files.append(archived)
            continue
        changed = True
        merged = merged.sort(list(spec.keys))
        data = to_parquet(merged)
        key = f"{day_prefix(kind, day)}/{spec.name}.parquet"
        store.put_bytes(key, data)
        first, last = time_bounds(merged, spec.time_column)
        files.append(
            ArchivedFile(
                table=spec.name,
                key=key,
                rows=merged.height,
                size=len(data),
                sha256=sha256_hex(data),
                content_sha256=content_checksum(merged, spec.keys),
                first=first,
                last=last,
            )
        )
    if not changed and previous is not None:
        return previous
    manifest = Manifest(kind=kind, day=day, created_at=now, files=tuple(files))
    store.put_bytes(manifest_key(kind, day), manifest.to_json())
    return manifest


def _merge(old: pl.DataFrame, new: pl.DataFrame, spec: TableSpec) -> pl.DataFrame:
    if new.is_empty():
        return old
    added = new.join(old.select(spec.keys), on=list(spec.keys), how="anti")
    return old if added.is_empty() else pl.concat([old, added.select(old.columns)])


def verify_holds(
    store: ObjectStore,
    kind: str,
    day: date,
    expected: Mapping[str, tuple[TableSpec, pl.DataFrame]],
) -> Manifest:
    """Read the day back from the store and check it holds every expected row, value for value.

    Raises ``ArchiveMismatch`` if the manifest is missing, a file is damaged, or a row is absent
    or different. This is the only gate before retention deletes.
    """
    manifest = load_manifest(store, kind, day)
    if manifest is None:
        raise ArchiveMismatch(f"{kind} {day}: no archive manifest in {store.location}")
    frames = read_partition(store, manifest, {name: spec for name, (spec, _) in expected.items()})
    for name, (spec, frame) in expected.items():
        archived = manifest.file(name)
        stored = frames.get(name)
        if archived is None or stored is None:
            if frame.is_empty():
                continue
            raise ArchiveMismatch(f"{kind} {day}: the archive has no {name}")
        matching = stored.join(frame.select(spec.keys), on=list(spec.keys), how="semi")
        if content_checksum(matching, spec.keys) != content_checksum(frame, spec.keys):
            raise ArchiveMismatch(
                f"{kind} {day}: {name} in the archive differs from the database "
                f"({matching.height} of {frame.height} rows present)"
            )
    return manifest
