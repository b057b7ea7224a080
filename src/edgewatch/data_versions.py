"""Data versions: one counter per kind of data, bumped after every write that changes it.

The API's response cache puts the versions of the data a route reads into its cache keys, so a
pipeline that stores new ticks makes every cached ticks response unreachable at once, in every
API process, without finding or deleting keys. Writers call ``bump`` *after* their transaction
commits: bumping before would let a reader cache the old rows under the new version.

Where the counters live: in Redis (``<prefix>:version:<kind>``, ``INCR``) when
``EDGEWATCH_REDIS_URL`` is set; otherwise in small files under ``<data_dir>/cache-versions``, so a
pipeline run by another process on the same machine (``edgewatch pipeline run`` next to
``edgewatch serve``) still reaches the API's in-memory cache. A failed bump is logged and
swallowed: the cached entries then expire with their TTL (at most 15 minutes), and the write that
was just committed must not be reported as failed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from redis import Redis
from redis.exceptions import RedisError

from edgewatch.config import Settings
from edgewatch.observability.logging import get_logger
from edgewatch.observability.metrics import REDIS_ERRORS

#: ``pipelines`` is the pipeline runs themselves (``jobs/runner.runs_changed``), not their output.
DataKind = Literal["markets", "ticks", "signals", "pipelines"]
KINDS: tuple[DataKind, ...] = ("markets", "ticks", "signals", "pipelines")
#: What each pipeline writes (by name, or by prefix ending in ``-``); unknown ones bump all.
PIPELINE_WRITES: dict[str, tuple[DataKind, ...]] = {
    "ingest-": ("markets", "ticks"),
    "match-markets": ("markets",),
    "generate-signals": ("signals",),
}

log = get_logger(__name__)


def version_key(prefix: str, kind: str) -> str:
    return f"{prefix}:version:{kind}"


def versions_dir(settings: Settings) -> Path:
    return settings.data_dir / "cache-versions"


def read_file_versions(directory: Path, kinds: Iterable[str]) -> list[str]:
    """The current token of each kind ("0" until the first bump)."""
    tokens = []
    for kind in kinds:
        try:
            tokens.append((directory / kind).read_text().strip() or "0")
        except FileNotFoundError:
            tokens.append("0")
    return tokens


def _bump_files(directory: Path, kinds: Iterable[str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for kind in kinds:
        # A random token rather than a counter: two processes bumping at once cannot lose an
        # update by both writing n+1. Written aside and renamed, so readers never see half.
        scratch = directory / f".{kind}.{uuid.uuid4().hex}"
        scratch.write_text(uuid.uuid4().hex)
        scratch.replace(directory / kind)


def bump(settings: Settings, kinds: Iterable[DataKind]) -> None:
    """Mark ``kinds`` as changed; call after the writing transaction committed. Never raises."""
    kinds = tuple(dict.fromkeys(kinds))
    if not kinds:
        return
    try:
        if settings.redis_url:
            client = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
            try:
                with client.pipeline(transaction=False) as pipe:
                    for kind in kinds:
                        pipe.incr(version_key(settings.redis_key_prefix, kind))
                    pipe.execute()
            finally:
                client.close()
        else:
            _bump_files(versions_dir(settings), kinds)
    except (RedisError, OSError) as exc:
        if settings.redis_url:
            REDIS_ERRORS.labels(component="data_versions").inc()
        log.warning(
            "data version not bumped; cached responses stay until their TTL ends",
            kinds=list(kinds),
            error=f"{type(exc).__name__}: {exc}"[:300],
        )


def pipeline_writes(pipeline: str) -> tuple[DataKind, ...]:
    """The kinds of data pipeline ``pipeline`` may change."""
    for name, kinds in PIPELINE_WRITES.items():
        if pipeline == name or (name.endswith("-") and pipeline.startswith(name)):
            return kinds
    return KINDS
