"""A simulator recording, replayed through ingest, stores what ingesting the simulator stores."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from replay_support import KALSHI_API, fixture_body, record, small_sim_settings
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from edgewatch.config import load_settings
from edgewatch.db.session import session_scope
from edgewatch.models import Market, OddsTick
from edgewatch.models import RejectedRecord as Quarantined
from edgewatch.ticks.ingest import ingest_window
from edgewatch.venues.replay.reader import read_recording
from edgewatch.venues.replay.venue import ReplayVenue
from edgewatch.venues.sim.venue import SimVenue
from venue_server import Answer, ScriptedServer

Row = tuple[str, str, object, float | None, float | None, float | None, float | None]


def stored_ticks(session: Session) -> set[Row]:
    query = select(
        Market.venue,
        Market.venue_market_id,
        OddsTick.tick_ts,
        OddsTick.bid,
        OddsTick.ask,
        OddsTick.last,
        OddsTick.volume,
    ).join(Market, Market.id == OddsTick.market_id)
    return set(session.execute(query).tuples())


def test_replayed_sim_recording_stores_the_ticks_the_simulator_stores(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = small_sim_settings()
    record("sim", tmp_path / "rec", settings, polls=4, interval=2.0)
    recording = read_recording(tmp_path / "rec")
    polls = recording.polls
    replay = ReplayVenue(recording)

    with session_scope(session_factory) as session:
        outcome = ingest_window(
            session, replay, since=polls[0].until - timedelta(seconds=1), until=polls[-1].until
        )
        replayed = stored_ticks(session)
    assert outcome.rows_stored == len(replayed) > 0 and outcome.rows_rejected == 0

    sim = SimVenue.from_settings(settings)
    direct: set[Row] = set()
    stored_again = 0
    with session_scope(session_factory) as session:
        for poll in polls:
            fetched = sim.fetch(since=poll.since, until=poll.until)
            direct |= {
                (t.venue, t.venue_market_id, t.ts, t.bid, t.ask, t.last, t.volume)
                for t in fetched.ticks
            }
            stored_again += ingest_window(
                session, sim, since=poll.since, until=poll.until
            ).rows_stored
        assert stored_ticks(session) == replayed
    assert stored_again == 0
    assert direct == replayed


def test_replaying_a_window_twice_stores_nothing_new(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    record("sim", tmp_path / "rec", small_sim_settings(), polls=2)
    recording = read_recording(tmp_path / "rec")
    since = recording.polls[0].until - timedelta(seconds=1)
    until = recording.polls[-1].until
    with session_scope(session_factory) as session:
        first = ingest_window(session, ReplayVenue(recording), since=since, until=until)
    with session_scope(session_factory) as session:
        again = ReplayVenue(read_recording(tmp_path / "rec"))
        second = ingest_window(session, again, since=since, until=until)
    assert first.rows_stored > 0 and second.rows_stored == 0
    assert first.rows_in == second.rows_in


def test_replayed_kalshi_recording_goes_through_ingest_with_its_rejects(
    session_factory: sessionmaker[Session], venue_server: ScriptedServer, tmp_path: Path
) -> None:
    quoted = dict(fixture_body("kalshi/rest_get_event.json")["markets"][0], ticker="KXREPLAY-1")
    bad = dict(quoted, ticker="KXREPLAY-BAD", yes_bid_dollars="NaN")
    venue_server.script(f"{KALSHI_API}/series", Answer(200, {"series": []}))
    venue_server.script(f"{KALSHI_API}/markets", Answer(200, {"markets": [quoted, bad]}))
    settings = load_settings(kalshi_base_url=venue_server.url + KALSHI_API)
    record("kalshi", tmp_path / "rec", settings, polls=2)
    recording = read_recording(tmp_path / "rec")

    with session_scope(session_factory) as session:
        outcome = ingest_window(
            session,
            ReplayVenue(recording),
            since=recording.polls[0].until - timedelta(seconds=1),
            until=recording.polls[-1].until,
        )
        ticks = stored_ticks(session)
        reasons = session.scalars(select(Quarantined.reason)).all()
    # Two polls, each a tick stamped with its own recorded arrival time.
    assert outcome.rows_stored == 2 == len(ticks)
    assert {row[1] for row in ticks} == {"KXREPLAY-1"}
    assert reasons and all(reason.startswith("not_finite") for reason in reasons)
