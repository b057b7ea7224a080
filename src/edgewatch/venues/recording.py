"""Recording what a venue sent, byte for byte, so a replay can reproduce it exactly.

A recording is a directory (format and commands: ``docs/recording.md``)::

    manifest.json    format, version, venue, endpoints, options, started/finished, counts,
                     and the sha256 of every file below
    polls.jsonl      one line per completed ``Venue.fetch``: its window and when it ran
    responses.jsonl  one line per HTTP response: request, status, headers, body as received
    frames.jsonl     one line per WebSocket text frame, as received
    results.jsonl    normalised records of venues without HTTP (the simulator)

Every line is written whole and flushed, so a recorder stopped at any point (Ctrl-C, the end of
``--duration``, SIGTERM) leaves only complete lines; ``Recorder.close`` then finalises the
manifest (written to a temporary file and renamed, so it is never half-written). A poll's line is
written when the poll finishes; responses of an interrupted poll stay in the file but are not
replayed.

``replay.reader.read_recording`` loads a recording back and checks all of it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import httpx

from edgewatch.clock import utcnow
from edgewatch.errors import InvalidInput
from edgewatch.venues.base import (
    FetchResult,
    LinkRecord,
    MarketRecord,
    RejectedRecord,
    TickRecord,
)
from edgewatch.venues.resilience import Frame

FORMAT = "edgewatch-recording"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
POLLS = "polls.jsonl"
RESPONSES = "responses.jsonl"
FRAMES = "frames.jsonl"
RESULTS = "results.jsonl"
DATA_FILES = (POLLS, RESPONSES, FRAMES, RESULTS)
RECORDABLE_VENUES = ("kalshi", "polymarket", "sim")
#: Response headers worth keeping: what the parsers and the retry policy look at.
KEPT_HEADERS = ("content-type", "retry-after", "date")

ResultRecord = MarketRecord | TickRecord | LinkRecord | RejectedRecord
RESULT_KINDS: dict[str, type[ResultRecord]] = {
    "market": MarketRecord,
    "tick": TickRecord,
    "link": LinkRecord,
    "rejected": RejectedRecord,
}


# --- recording -----------------------------------------------------------------------------------


class Recorder:
    """Writes one recording directory. Thread-safe; use as a context manager or call ``close``.

    ``out`` must not exist or be an empty directory (``InvalidInput`` otherwise), so a recording
    is never mixed with another one.
    """

    def __init__(
        self,
        out: Path,
        *,
        venue: str,
        endpoints: Mapping[str, str] | None = None,
        options: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        if venue not in RECORDABLE_VENUES:
            raise InvalidInput(f"cannot record venue {venue!r} (one of: {RECORDABLE_VENUES})")
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise InvalidInput(f"{out} already exists and is not an empty directory")
        out.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.venue = venue
        self.endpoints = dict(endpoints or {})
        self.options = dict(options or {})
        self._clock = clock
        self._now = now
        self._origin = clock()
        self.started_at = now()
        self.finished_at: datetime | None = None
        self._lock = threading.Lock()
        self._files: dict[str, IO[str]] = {
            name: (out / name).open("w", encoding="utf-8", newline="\n") for name in DATA_FILES
        }
        self.counts = {"polls": 0, "responses": 0, "frames": 0, "results": 0, "body_bytes": 0}
        self._poll: int | None = None
        self._poll_started: datetime | None = None
        self._poll_window: tuple[datetime | None, datetime] | None = None
        self._closed = False
        self._write_manifest(complete=False)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def offset(self) -> float:
        """Seconds since the recording started (monotonic clock)."""
        return round(self._clock() - self._origin, 6)

    def _write(self, name: str, line: Mapping[str, Any]) -> None:
        text = json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"
        handle = self._files[name]
        handle.write(text)
        handle.flush()

    # --- polls -----------------------------------------------------------------------------------

    def begin_poll(self, *, since: datetime | None, until: datetime) -> int:
        """Start a poll (one ``fetch(since=..., until=...)``); responses until ``end_poll``
        belong to it. Returns its number."""
        with self._lock:
            self._poll = self.counts["polls"]
            self._poll_started = self._now()
            self._poll_window = (since, until)
            return self._poll

    def end_poll(self, *, error: str | None = None) -> None:
        """Finish the current poll; ``error`` says the fetch failed (replay skips that poll)."""
        with self._lock:
            if self._poll is None or self._poll_window is None or self._poll_started is None:
                raise RuntimeError("end_poll without begin_poll")
            since, until = self._poll_window
            self._write(
                POLLS,
                {
                    "poll": self._poll,
                    "since": since.isoformat() if since else None,
                    "until": until.isoformat(),
                    "started_at": self._poll_started.isoformat(),
                    "finished_at": self._now().isoformat(),
                    "offset": self.offset(),
                    "error": error,
                },
            )
            self.counts["polls"] += 1
            self._poll = None

    # --- what arrived ----------------------------------------------------------------------------

    def response(
        self, request: httpx.Request, status: int, headers: httpx.Headers, body: bytes
    ) -> None:
        """One HTTP response, body as received (after any transfer decoding)."""
        line: dict[str, Any] = {
            "offset": self.offset(),
            "received_at": self._now().isoformat(),
            "method": request.method,
            "url": str(request.url.copy_with(query=None)),
            "params": [list(pair) for pair in request.url.params.multi_items()],
            "status": status,
            "headers": {k: headers[k] for k in KEPT_HEADERS if k in headers},
        }
        try:
            line["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            line["body_base64"] = base64.b64encode(body).decode("ascii")
        with self._lock:
            line = {"poll": self._poll, "seq": self.counts["responses"], **line}
            self._write(RESPONSES, line)
            self.counts["responses"] += 1
            self.counts["body_bytes"] += len(body)

    def frame(self, text: str, *, received_at: datetime, stream: str = "market") -> None:
        """One WebSocket text frame exactly as received."""
        with self._lock:
            self._write(
                FRAMES,
                {
                    "seq": self.counts["frames"],
                    "stream": stream,
                    "offset": self.offset(),
                    "received_at": received_at.isoformat(),
                    "text": text,
                },
            )
            self.counts["frames"] += 1
            self.counts["body_bytes"] += len(text.encode("utf-8"))

    def results(self, result: FetchResult) -> None:
        """Normalised records of the current poll (venues without HTTP, i.e. the simulator)."""
        records: list[ResultRecord] = [
            *result.markets,
            *result.ticks,
            *result.links,
            *result.rejected,
        ]
        with self._lock:
            for record in records:
                self._write(RESULTS, {"poll": self._poll, **record_to_json(record)})
            self.counts["results"] += len(records)

    # --- the end ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the files and finalise the manifest (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for handle in self._files.values():
                handle.close()
            self.finished_at = self._now()
            self._write_manifest(complete=True)

    def _write_manifest(self, *, complete: bool) -> None:
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "venue": self.venue,
            "complete": complete,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "endpoints": self.endpoints,
            "options": self.options,
            "counts": dict(self.counts),
            "files": {},
        }
        if complete:
            manifest["files"] = {
                name: {
                    "sha256": _sha256(self.out / name),
                    "bytes": (self.out / name).stat().st_size,
                }
                for name in DATA_FILES
            }
        temporary = self.out / (MANIFEST + ".tmp")
        temporary.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        temporary.replace(self.out / MANIFEST)


class RecordingTransport(httpx.BaseTransport):
    """An httpx transport that records every response passing through ``inner``."""

    def __init__(self, recorder: Recorder, inner: httpx.BaseTransport | None = None) -> None:
        self.recorder = recorder
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        try:
            # ``read`` undoes any Content-Encoding: what we keep is the body the venue meant.
            body = response.read()
        finally:
            response.close()
        self.recorder.response(request, response.status_code, response.headers, body)
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

    def close(self) -> None:
        self.inner.close()


def recording_frames(
    frames: Iterable[Frame], recorder: Recorder, *, stream: str = "market"
) -> Iterator[Frame]:
    """Pass ``frames`` (e.g. ``ReconnectingStream.frames()``) through, recording each one."""
    for frame in frames:
        recorder.frame(frame.text, received_at=frame.received_at, stream=stream)
        yield frame


# --- the normalised records of the simulator ------------------------------------------------------


def record_to_json(record: ResultRecord) -> dict[str, Any]:
    kind = next(name for name, cls in RESULT_KINDS.items() if isinstance(record, cls))
    fields: dict[str, Any] = {}
    for item in dataclasses.fields(record):
        value = getattr(record, item.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        fields[item.name] = value
    return {"kind": kind, "record": fields}


def record_from_json(line: Mapping[str, Any]) -> ResultRecord:
    """The record a ``results.jsonl`` line holds; ``InvalidInput`` if it is not one."""
    kind, raw = line.get("kind"), line.get("record")
    cls = RESULT_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None or not isinstance(raw, dict):
        raise InvalidInput(f"unknown result kind {kind!r}")
    values: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        if item.name not in raw:
            continue
        value = raw[item.name]
        annotation = str(item.type)
        if value is not None and "datetime" in annotation:
            value = datetime.fromisoformat(value)
        elif value is not None and "Decimal" in annotation:
            value = Decimal(value)
        values[item.name] = value
    try:
        return cls(**values)
    except TypeError as exc:
        raise InvalidInput(f"malformed {kind} record: {exc}") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
