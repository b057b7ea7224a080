"""Loading a recording made by ``edgewatch record`` (format: ``venues/recording.py``).

``read_recording`` checks everything before anything is replayed and raises one ``InvalidInput``
line for whatever is wrong: no manifest, an unfinished recording (the recorder was killed), an
unknown format or version, a file missing, a truncated last line, a checksum mismatch, a
malformed line. The whole recording is loaded into memory.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from edgewatch.errors import InvalidInput
from edgewatch.venues.recording import (
    DATA_FILES,
    FORMAT,
    FORMAT_VERSION,
    FRAMES,
    MANIFEST,
    POLLS,
    RECORDABLE_VENUES,
    RESPONSES,
    RESULTS,
    ResultRecord,
    record_from_json,
)


@dataclass(frozen=True, slots=True)
class Poll:
    number: int
    since: datetime | None
    until: datetime
    started_at: datetime
    finished_at: datetime
    offset: float
    error: str | None


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    poll: int | None
    seq: int
    offset: float
    received_at: datetime
    method: str
    url: str
    params: tuple[tuple[str, str], ...]
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    seq: int
    stream: str
    offset: float
    received_at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class Recording:
    """A checked recording, fully loaded. Polls are the completed ones, in order."""

    path: Path
    venue: str
    started_at: datetime
    finished_at: datetime
    endpoints: Mapping[str, str]
    options: Mapping[str, Any]
    polls: tuple[Poll, ...]
    responses: tuple[RecordedResponse, ...]
    frames: tuple[RecordedFrame, ...]
    results: Mapping[int, tuple[ResultRecord, ...]]


def read_recording(path: Path) -> Recording:
    """Load and check a recording directory; one ``InvalidInput`` line if anything is wrong."""
    try:
        return _read(path)
    except InvalidInput as exc:
        raise InvalidInput(f"recording {path}: {exc.message}") from None


def _read(path: Path) -> Recording:
    if not path.is_dir():
        raise InvalidInput("no such directory")
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise InvalidInput(f"no {MANIFEST}: not a recording made by `edgewatch record`")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"{MANIFEST} is not readable JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidInput(f"{MANIFEST} is not an {FORMAT} manifest")
    if manifest.get("version") != FORMAT_VERSION:
        raise InvalidInput(
            f"format version {manifest.get('version')!r} is not supported "
            f"(this Edgewatch reads version {FORMAT_VERSION})"
        )
    if manifest.get("venue") not in RECORDABLE_VENUES:
        raise InvalidInput(f"unknown venue {manifest.get('venue')!r} in {MANIFEST}")
    if manifest.get("complete") is not True:
        raise InvalidInput("the recording was not finalised (the recorder was killed)")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise InvalidInput(f"{MANIFEST} lists no files")
    lines: dict[str, list[dict[str, Any]]] = {}
    for name in DATA_FILES:
        lines[name] = _checked_lines(path, name, files.get(name))
    try:
        polls = tuple(_poll(line) for line in lines[POLLS])
        responses = tuple(_response(line) for line in lines[RESPONSES])
        frames = tuple(_frame(line) for line in lines[FRAMES])
        results: dict[int, list[ResultRecord]] = {}
        for line in lines[RESULTS]:
            results.setdefault(int(line["poll"]), []).append(record_from_json(line))
        started_at = datetime.fromisoformat(manifest["started_at"])
        finished_at = datetime.fromisoformat(manifest["finished_at"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInput(
            f"malformed line or manifest field ({type(exc).__name__}: {exc})"
        ) from None
    return Recording(
        path=path,
        venue=manifest["venue"],
        started_at=started_at,
        finished_at=finished_at,
        endpoints=dict(manifest.get("endpoints") or {}),
        options=dict(manifest.get("options") or {}),
        polls=polls,
        responses=responses,
        frames=frames,
        results={poll: tuple(records) for poll, records in results.items()},
    )


def _checked_lines(path: Path, name: str, entry: object) -> list[dict[str, Any]]:
    if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
        raise InvalidInput(f"{MANIFEST} has no checksum for {name}")
    try:
        data = (path / name).read_bytes()
    except OSError:
        raise InvalidInput(f"{name} is missing") from None
    if data and not data.endswith(b"\n"):
        raise InvalidInput(f"{name}: the last line is truncated")
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise InvalidInput(f"{name}: checksum mismatch (the file changed after recording)")
    parsed: list[dict[str, Any]] = []
    for number, text in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        try:
            line = json.loads(text)
        except ValueError:
            raise InvalidInput(f"{name} line {number} is not JSON") from None
        if not isinstance(line, dict):
            raise InvalidInput(f"{name} line {number} is not a JSON object")
        parsed.append(line)
    return parsed


def _time(value: object) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"not a time: {value!r}")
    return datetime.fromisoformat(value)


def _poll(line: Mapping[str, Any]) -> Poll:
    return Poll(
        number=int(line["poll"]),
        since=_time(line["since"]) if line.get("since") else None,
        until=_time(line["until"]),
        started_at=_time(line["started_at"]),
        finished_at=_time(line["finished_at"]),
        offset=float(line["offset"]),
        error=line.get("error"),
    )


def _response(line: Mapping[str, Any]) -> RecordedResponse:
    if "body" in line:
        body = str(line["body"]).encode("utf-8")
    else:
        body = base64.b64decode(line["body_base64"], validate=True)
    return RecordedResponse(
        poll=None if line.get("poll") is None else int(line["poll"]),
        seq=int(line["seq"]),
        offset=float(line["offset"]),
        received_at=_time(line["received_at"]),
        method=str(line["method"]),
        url=str(line["url"]),
        params=tuple((str(k), str(v)) for k, v in line["params"]),
        status=int(line["status"]),
        headers=tuple((str(k), str(v)) for k, v in dict(line["headers"]).items()),
        body=body,
    )


def _frame(line: Mapping[str, Any]) -> RecordedFrame:
    return RecordedFrame(
        seq=int(line["seq"]),
        stream=str(line["stream"]),
        offset=float(line["offset"]),
        received_at=_time(line["received_at"]),
        text=str(line["text"]),
    )
