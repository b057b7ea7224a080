"""The manifest: what one archived day holds, and the checksums that prove it.

Each archived day of a kind (``ticks``, ``backtests``) is a directory of Parquet files, one per
table, and a ``manifest.json`` written last — an archive without its manifest is unfinished and is
ignored. Per file the manifest records the row count, the first and last time, the SHA-256 of the
object (catches a damaged or truncated file) and the content checksum of its rows (proves the rows
are the ones read from the database; see ``frames.content_checksum``).

Layout: ``<kind>/<YYYY>/<MM>/<DD>/<table>.parquet`` and ``<kind>/<YYYY>/<MM>/<DD>/manifest.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from edgewatch.errors import InvalidInput

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"


def day_prefix(kind: str, day: date) -> str:
    return f"{kind}/{day:%Y/%m/%d}"


def manifest_key(kind: str, day: date) -> str:
    return f"{day_prefix(kind, day)}/{MANIFEST_NAME}"


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


@dataclass(frozen=True, slots=True)
class ArchivedFile:
    table: str
    key: str
    rows: int
    size: int
    sha256: str
    content_sha256: str
    first: datetime | None
    last: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "key": self.key,
            "rows": self.rows,
            "bytes": self.size,
            "sha256": self.sha256,
            "content_sha256": self.content_sha256,
            "first": _time(self.first),
            "last": _time(self.last),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchivedFile:
        return cls(
            table=str(data["table"]),
            key=str(data["key"]),
            rows=int(data["rows"]),
            size=int(data["bytes"]),
            sha256=str(data["sha256"]),
            content_sha256=str(data["content_sha256"]),
            first=_parse_time(data.get("first")),
            last=_parse_time(data.get("last")),
        )


@dataclass(frozen=True, slots=True)
class Manifest:
    kind: str
    day: date
    created_at: datetime
    files: tuple[ArchivedFile, ...]

    @property
    def start(self) -> datetime:
        """Start of the day covered, inclusive."""
        return day_start(self.day)

    @property
    def end(self) -> datetime:
        """End of the day covered, exclusive."""
        return day_start(self.day) + timedelta(days=1)

    @property
    def total_rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def file(self, table: str) -> ArchivedFile | None:
        return next((f for f in self.files if f.table == table), None)

    def to_json(self) -> bytes:
        document = {
            "format": FORMAT_VERSION,
            "kind": self.kind,
            "day": self.day.isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "created_at": self.created_at.isoformat(),
            "rows": self.total_rows,
            "files": [f.to_dict() for f in self.files],
        }
        return json.dumps(document, indent=2).encode()

    @classmethod
    def from_json(cls, data: bytes, *, key: str) -> Manifest:
        try:
            document = json.loads(data)
            if document.get("format") != FORMAT_VERSION:
                raise ValueError(f"unknown format {document.get('format')!r}")
            return cls(
                kind=str(document["kind"]),
                day=date.fromisoformat(document["day"]),
                created_at=datetime.fromisoformat(document["created_at"]),
                files=tuple(ArchivedFile.from_dict(f) for f in document["files"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(f"archive manifest {key} is damaged: {exc}") from None
