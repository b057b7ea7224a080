"""The ``replay`` venue: a recording made by ``edgewatch record``, played back.

Each recorded poll is replayed by the live venue's own code: a Kalshi recording runs
``KalshiVenue.fetch`` (paging, fee terms, ``parse_markets``, quarantine) against a transport that
answers from the recording, with ``received_at`` the recorded arrival time; a simulator
recording holds the normalised records themselves. So a replay produces exactly the records the
live venue produced, every time, and bad records are rejected with the same reasons.

Time. Recorded polls sit on the recorded wall-clock axis (the ``until`` each live fetch was
given). ``fetch(since, until)`` returns the polls inside the window, merged (markets deduplicated,
the latest state winning). How caller time maps to recorded time depends on ``speed``:

- ``None`` (default): no mapping; windows are recorded times (backtests, tests);
- a positive number: the recording starts at ``start`` (default: the first ``fetch``'s
  ``until``) and runs ``speed`` times faster than real time (1.0 is real time);
- ``math.inf``: as fast as possible: the whole recording is due at ``start``.

``retime=True`` (with a ``speed``) moves every timestamp of the replayed records onto the
caller's axis, so a recording made last week looks live (the demo uses it); without it, records
keep their recorded times exactly.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from edgewatch.errors import ConfigError, InvalidInput, VenueUnavailable
from edgewatch.venues.base import (
    Capabilities,
    FetchResult,
    LinkRecord,
    MarketRecord,
    RejectedRecord,
    TickRecord,
    Venue,
)
from edgewatch.venues.records import ParseResult
from edgewatch.venues.replay.reader import Poll, Recording, read_recording
from edgewatch.venues.replay.transport import ReplayTransport
from edgewatch.venues.resilience import CircuitBreaker, Frame, RetryPolicy, TokenBucket

T = TypeVar("T")
#: Replayed clients never wait: no rate limit, no backoff sleep, a breaker that never opens.
_UNLIMITED = 1e12


class ReplayVenue:
    name = "replay"
    capabilities = Capabilities(history=True)

    def __init__(
        self,
        recording: Recording,
        *,
        speed: float | None = None,
        retime: bool = False,
        start: datetime | None = None,
    ) -> None:
        if speed is not None and not speed > 0:
            raise ConfigError(f"replay speed must be positive, got {speed!r}")
        if retime and speed is None:
            raise ConfigError("retiming a replay needs a speed (1.0 for real time)")
        self.recording = recording
        self.speed = speed
        self.retime = retime
        self.start = start
        self.polls = tuple(poll for poll in recording.polls if poll.error is None)
        self._cache: dict[int, FetchResult] = {}

    @classmethod
    def from_directory(cls, path: Path, **options: Any) -> ReplayVenue:
        """``InvalidInput`` (one line) if ``path`` is not a sound recording."""
        return cls(read_recording(path), **options)

    def close(self) -> None:
        """Nothing to release; present so callers can close any venue alike."""

    # --- time ------------------------------------------------------------------------------------

    @property
    def _first(self) -> datetime:
        return self.polls[0].until if self.polls else self.recording.started_at

    @property
    def _last(self) -> datetime:
        return self.polls[-1].until if self.polls else self.recording.started_at

    def to_recorded(self, moment: datetime) -> datetime:
        """The recorded time that caller time ``moment`` corresponds to."""
        if self.speed is None:
            return moment
        if self.start is None:
            raise RuntimeError("the replay has not started")
        if math.isinf(self.speed):
            past_end = moment >= self.start
            return (
                self._last + timedelta(seconds=1)
                if past_end
                else self._first - timedelta(seconds=1)
            )
        return self._first + (moment - self.start) * self.speed

    def to_caller(self, moment: datetime) -> datetime:
        """The caller time of recorded time ``moment`` (used by ``retime``)."""
        if self.speed is None or self.start is None:
            return moment
        if math.isinf(self.speed):
            return moment + (self.start - self._last)
        return self.start + (moment - self._first) / self.speed

    # --- polling ---------------------------------------------------------------------------------

    def fetch(self, *, since: datetime | None, until: datetime) -> FetchResult:
        """The recorded polls in ``(since, until]`` (mapped to recorded time), merged; with
        ``since=None``, the latest poll at or before ``until``."""
        if self.start is None:
            self.start = until
        upper = self.to_recorded(until)
        if since is None:
            chosen = [poll for poll in self.polls if poll.until <= upper][-1:]
        else:
            lower = self.to_recorded(since)
            chosen = [poll for poll in self.polls if lower < poll.until <= upper]
        merged = _merge([self.poll_result(poll) for poll in chosen])
        return self._retimed(merged) if self.retime else merged

    def play(self, *, sleep: Callable[[float], None] = time.sleep) -> Iterator[FetchResult]:
        """Every poll's result in order, paced by the recorded offsets divided by ``speed``
        (no pause at ``None`` or ``math.inf``)."""
        previous: Poll | None = None
        for poll in self.polls:
            if previous is not None and self.speed is not None and not math.isinf(self.speed):
                sleep(max(0.0, (poll.offset - previous.offset) / self.speed))
            previous = poll
            yield self.poll_result(poll)

    def poll_result(self, poll: Poll) -> FetchResult:
        """What the live venue's ``fetch`` returned in ``poll`` (computed once, then cached)."""
        if poll.number not in self._cache:
            if self.recording.venue == "sim":
                self._cache[poll.number] = _sim_result(self.recording, poll)
            else:
                self._cache[poll.number] = self._http_result(poll)
        cached = self._cache[poll.number]
        return FetchResult(
            markets=list(cached.markets),
            ticks=list(cached.ticks),
            links=list(cached.links),
            rejected=list(cached.rejected),
        )

    def _http_result(self, poll: Poll) -> FetchResult:
        responses = self.recording.responses
        transport = ReplayTransport(
            (r for r in responses if r.poll == poll.number),
            earlier=(r for r in responses if r.poll is not None and r.poll < poll.number),
        )

        def received_at() -> datetime:
            return transport.received_at or poll.until

        venue = _live_venue(self.recording, transport, received_at)
        try:
            return venue.fetch(since=poll.since, until=poll.until)
        except VenueUnavailable as exc:
            # The live fetch failed the same way; the recorder would have marked the poll.
            raise InvalidInput(f"replaying poll {poll.number}: {exc.message}") from None
        finally:
            close = getattr(venue, "close", None)
            if close is not None:
                close()

    # --- streams ---------------------------------------------------------------------------------

    def frames(self) -> Iterator[Frame]:
        """The recorded WebSocket frames, in order, as the stream delivered them."""
        for frame in self.recording.frames:
            yield Frame(frame.text, frame.received_at)

    def stream_records(self) -> ParseResult:
        """Every recorded frame through the live venue's frame parser."""
        parse = _frame_parser(self.recording.venue)
        total = ParseResult()
        for frame in self.recording.frames:
            try:
                decoded = json.loads(frame.text)
            except ValueError:
                total.rejected.append(
                    RejectedRecord(self.recording.venue, "frame", "invalid_json", frame.text)
                )
                continue
            parsed = parse(decoded, received_at=frame.received_at)
            total.records.extend(parsed.records)
            total.rejected.extend(parsed.rejected)
        return total

    def _retimed(self, result: FetchResult) -> FetchResult:
        return FetchResult(
            markets=[_shift(record, self.to_caller) for record in result.markets],
            ticks=[_shift(record, self.to_caller) for record in result.ticks],
            links=list(result.links),
            rejected=list(result.rejected),
        )


def open_replay(path: Path | None, **options: Any) -> ReplayVenue:
    """The replay source for the settings' ``recording_dir``; ``ConfigError`` if unusable."""
    if path is None:
        raise ConfigError(
            "the replay source needs EDGEWATCH_RECORDING_DIR "
            "(a directory made by `edgewatch record`)"
        )
    try:
        return ReplayVenue.from_directory(path, **options)
    except InvalidInput as exc:
        raise ConfigError(f"EDGEWATCH_RECORDING_DIR: {exc.message}") from None


def _live_venue(
    recording: Recording, transport: ReplayTransport, now: Callable[[], datetime]
) -> Venue:
    options = recording.options
    max_pages = options.get("max_pages")
    common: dict[str, Any] = {
        "transport": transport,
        "retry": RetryPolicy(
            max_attempts=int(options.get("max_attempts", RetryPolicy().max_attempts)),
            base_delay=0.0,
            max_delay=0.0,
        ),
        "breaker": CircuitBreaker(
            f"replay-{recording.venue}", failure_threshold=2**31, reset_timeout=0.0
        ),
        "sleep": _no_sleep,
    }
    if recording.venue == "kalshi":
        from edgewatch.venues.kalshi.client import KalshiClient
        from edgewatch.venues.kalshi.venue import KalshiVenue

        client = KalshiClient(
            base_url=recording.endpoints["kalshi_base_url"],
            limiter=TokenBucket(_UNLIMITED, sleep=_no_sleep),
            **common,
        )
        return KalshiVenue(client, max_pages=max_pages, now=now)
    if recording.venue == "polymarket":
        from edgewatch.venues.polymarket.client import PolymarketClient
        from edgewatch.venues.polymarket.venue import PolymarketVenue

        client_pm = PolymarketClient(
            gamma_url=recording.endpoints["polymarket_gamma_url"],
            clob_url=recording.endpoints["polymarket_clob_url"],
            gamma_limiter=TokenBucket(_UNLIMITED, sleep=_no_sleep),
            clob_limiter=TokenBucket(_UNLIMITED, sleep=_no_sleep),
            **common,
        )
        return PolymarketVenue(
            client_pm, max_pages=max_pages, watch=tuple(options.get("watch", ()))
        )
    raise InvalidInput(f"venue {recording.venue!r} has no HTTP recording")


def _frame_parser(venue: str) -> Callable[..., ParseResult]:
    if venue == "kalshi":
        from edgewatch.venues.kalshi.frames import parse_ws_frame as kalshi_frames

        return kalshi_frames
    if venue == "polymarket":
        from edgewatch.venues.polymarket.frames import parse_ws_frame as polymarket_frames

        return polymarket_frames
    raise InvalidInput(f"venue {venue!r} has no stream frames")


def _sim_result(recording: Recording, poll: Poll) -> FetchResult:
    result = FetchResult()
    for record in recording.results.get(poll.number, ()):
        if isinstance(record, MarketRecord):
            result.markets.append(record)
        elif isinstance(record, TickRecord):
            result.ticks.append(record)
        elif isinstance(record, LinkRecord):
            result.links.append(record)
        else:
            result.rejected.append(record)
    return result


def _merge(results: list[FetchResult]) -> FetchResult:
    """Several polls as one fetch: each market once, in its latest state; links once."""
    markets: dict[tuple[str, str], MarketRecord] = {}
    links: dict[LinkRecord, None] = {}
    merged = FetchResult()
    for result in results:
        for market in result.markets:
            markets[(market.venue, market.venue_market_id)] = market
        for link in result.links:
            links[link] = None
        merged.ticks.extend(result.ticks)
        merged.rejected.extend(result.rejected)
    merged.markets = list(markets.values())
    merged.links = list(links)
    return merged


def _shift(record: T, move: Callable[[datetime], datetime]) -> T:
    changes = {
        item.name: move(value)
        for item in dataclasses.fields(record)  # type: ignore[arg-type]
        if isinstance(value := getattr(record, item.name), datetime)
    }
    return dataclasses.replace(record, **changes)  # type: ignore[type-var]


def _no_sleep(_seconds: float) -> None:
    return None
