"""Recording venues from local servers, and replaying the recordings exactly."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from replay_support import (
    FIXTURES,
    KALSHI_API,
    FakeTime,
    fixture_body,
    record,
    small_sim_settings,
)
from typer.testing import CliRunner

from edgewatch.config import load_settings
from edgewatch.errors import ConfigError, InvalidInput
from edgewatch.venues.base import MarketRecord, TickRecord
from edgewatch.venues.kalshi.parsing import fee_multiplier_of, parse_markets, parse_series
from edgewatch.venues.polymarket import parsing as polymarket_parsing
from edgewatch.venues.polymarket.frames import parse_ws_frame
from edgewatch.venues.recording import (
    MANIFEST,
    POLLS,
    RESPONSES,
    RESULTS,
    Recorder,
    recording_frames,
)
from edgewatch.venues.records import SeriesRecord
from edgewatch.venues.registry import create_venue
from edgewatch.venues.replay.cli import app as record_app
from edgewatch.venues.replay.reader import read_recording
from edgewatch.venues.replay.record import record_venue
from edgewatch.venues.replay.venue import ReplayVenue
from edgewatch.venues.resilience import Frame
from venue_server import Answer, ScriptedServer

runner = CliRunner()


def kalshi_bodies() -> tuple[dict[str, Any], dict[str, Any]]:
    markets = fixture_body("kalshi/rest_get_markets.json")
    quoted = dict(fixture_body("kalshi/rest_get_event.json")["markets"][0], ticker="KXELONMARS-99")
    bad = dict(quoted, ticker="KXBAD-1", yes_bid_dollars="1.5")
    markets = dict(markets, markets=[*markets["markets"], quoted, bad], cursor="")
    series = fixture_body("kalshi/rest_get_series.json")
    fees = {"ticker": "KXELONMARS", "fee_type": "quadratic", "fee_multiplier": 0.5}
    return dict(series, series=[*series["series"], fees]), markets


def script_kalshi(server: ScriptedServer) -> tuple[dict[str, Any], dict[str, Any]]:
    series, markets = kalshi_bodies()
    server.script(f"{KALSHI_API}/series", Answer(200, series))
    # A 500 first: the retry is recorded, and replay must walk through it the same way.
    server.script(f"{KALSHI_API}/markets", Answer(500, {"error": "boom"}), Answer(200, markets))
    return series, markets


def kalshi_recording(server: ScriptedServer, out: Path, *, polls: int = 1) -> None:
    settings = load_settings(kalshi_base_url=server.url + KALSHI_API)
    summary = record("kalshi", out, settings, polls=polls)
    assert summary.polls == polls and summary.failed_polls == 0


def test_kalshi_replay_gives_the_records_the_fixtures_parse_to(
    venue_server: ScriptedServer, tmp_path: Path
) -> None:
    series, markets = script_kalshi(venue_server)
    kalshi_recording(venue_server, tmp_path / "rec")

    recording = read_recording(tmp_path / "rec")
    [poll] = recording.polls
    replayed = ReplayVenue(recording).fetch(since=None, until=poll.until)

    received = [r for r in recording.responses if r.url.endswith("/markets") and r.status == 200]
    multipliers = {
        s.series_id: fee_multiplier_of(s) for s in parse_series(series).of_type(SeriesRecord)
    }
    direct = parse_markets(
        markets, received_at=received[0].received_at, fee_multipliers=multipliers
    )
    assert replayed.markets == direct.of_type(MarketRecord) and replayed.markets
    assert replayed.ticks == direct.of_type(TickRecord) and replayed.ticks
    assert replayed.rejected == direct.rejected
    [bad] = replayed.rejected
    assert bad.reason.startswith("out_of_range") and "KXBAD-1" in bad.payload
    fees = {m.venue_market_id: m.fee_multiplier for m in replayed.markets}
    assert fees["KXELONMARS-99"] == Decimal("0.5")


def test_recorded_bodies_are_the_bytes_the_server_sent(
    venue_server: ScriptedServer, tmp_path: Path
) -> None:
    series, markets = script_kalshi(venue_server)
    kalshi_recording(venue_server, tmp_path / "rec")
    lines = [json.loads(line) for line in (tmp_path / "rec" / RESPONSES).read_text().splitlines()]
    assert [(line["url"].rsplit("/", 1)[1], line["status"]) for line in lines] == [
        ("series", 200),
        ("markets", 500),
        ("markets", 200),
    ]
    # The scripted server sends json.dumps(body); the recording keeps exactly those bytes.
    assert lines[0]["body"] == json.dumps(series)
    assert lines[2]["body"] == json.dumps(markets)
    assert ["mve_filter", "exclude"] in lines[2]["params"]
    assert lines[2]["headers"]["content-type"] == "application/json"
    manifest = json.loads((tmp_path / "rec" / MANIFEST).read_text())
    assert manifest["complete"] and manifest["counts"]["responses"] == 3
    assert set(manifest["files"]) == {
        "polls.jsonl",
        "responses.jsonl",
        "frames.jsonl",
        "results.jsonl",
    }


def test_polymarket_replay_gives_the_records_the_fixtures_parse_to(
    venue_server: ScriptedServer, tmp_path: Path
) -> None:
    page = {
        "markets": [
            fixture_body("polymarket/gamma_get_market.json"),
            fixture_body("polymarket/gamma_get_market_sports_closed.json"),
            {"id": "broken", "question": 7},
        ]
    }
    venue_server.script("/markets/keyset", Answer(429, {}, {"Retry-After": "0"}), Answer(200, page))
    settings = load_settings(
        polymarket_gamma_url=venue_server.url, polymarket_clob_url=venue_server.url
    )
    record("polymarket", tmp_path / "rec", settings)

    recording = read_recording(tmp_path / "rec")
    replayed = ReplayVenue(recording).fetch(
        since=recording.started_at - timedelta(seconds=1), until=recording.finished_at
    )
    received = [r for r in recording.responses if r.status == 200]
    direct = polymarket_parsing.parse_markets(page, received_at=received[0].received_at)
    assert replayed.markets == direct.of_type(MarketRecord) and len(replayed.markets) == 2
    assert replayed.ticks == direct.of_type(TickRecord)
    assert replayed.rejected == direct.rejected and replayed.rejected


def test_two_replays_of_one_recording_are_identical(
    venue_server: ScriptedServer, tmp_path: Path
) -> None:
    script_kalshi(venue_server)
    kalshi_recording(venue_server, tmp_path / "rec", polls=3)
    recording = read_recording(tmp_path / "rec")
    window = {"since": recording.started_at - timedelta(seconds=1), "until": recording.finished_at}
    first = ReplayVenue(read_recording(tmp_path / "rec")).fetch(**window)
    second = ReplayVenue(read_recording(tmp_path / "rec")).fetch(**window)
    assert first == second and first.ticks
    # Later polls did not ask for the series again (the live venue cached it); the replay
    # serves them the series as recorded before, so fee terms stay the same in every poll.
    venue = ReplayVenue(recording)
    per_poll = [venue.poll_result(poll) for poll in recording.polls]
    fees = [{m.venue_market_id: m.fee_multiplier for m in r.markets} for r in per_poll]
    assert fees[0] == fees[1] == fees[2]
    assert [p.since for p in recording.polls[1:]] == [p.until for p in recording.polls[:-1]]


def test_sim_replay_is_exactly_the_recorded_fetch(tmp_path: Path) -> None:
    settings = small_sim_settings()
    record("sim", tmp_path / "rec", settings, polls=3)
    recording = read_recording(tmp_path / "rec")
    from edgewatch.venues.sim.venue import SimVenue

    sim = SimVenue.from_settings(settings)
    venue = ReplayVenue(recording)
    for poll in recording.polls:
        assert venue.fetch(since=poll.since, until=poll.until) == sim.fetch(
            since=poll.since, until=poll.until
        )


def test_real_time_replay_hands_out_polls_as_their_time_comes(tmp_path: Path) -> None:
    record("sim", tmp_path / "rec", small_sim_settings(), polls=3, interval=10.0)
    recording = read_recording(tmp_path / "rec")
    polls = recording.polls
    start = polls[0].until + timedelta(days=3)
    venue = ReplayVenue(recording, speed=1.0, retime=True, start=start)
    first = venue.fetch(since=start - timedelta(hours=1), until=start)
    assert first.ticks == [
        replace(tick, ts=tick.ts + timedelta(days=3)) for tick in venue.poll_result(polls[0]).ticks
    ]
    assert not venue.fetch(since=start, until=start + timedelta(seconds=9)).ticks
    later = venue.fetch(since=start, until=start + timedelta(seconds=20))
    expected = venue.poll_result(polls[1]).ticks + venue.poll_result(polls[2]).ticks
    assert [t.ts - timedelta(days=3) for t in later.ticks] == [t.ts for t in expected]

    fast = ReplayVenue(recording, speed=math.inf)
    everything = fast.fetch(since=start - timedelta(hours=1), until=start)
    assert len(everything.ticks) == sum(len(venue.poll_result(p).ticks) for p in polls)
    assert not fast.fetch(since=start, until=start + timedelta(hours=1)).ticks


def test_play_paces_polls_by_their_recorded_offsets(tmp_path: Path) -> None:
    record("sim", tmp_path / "rec", small_sim_settings(), polls=3, interval=4.0)
    waits: list[float] = []
    results = list(
        ReplayVenue(read_recording(tmp_path / "rec"), speed=2.0).play(sleep=waits.append)
    )
    assert len(results) == 3 and waits == pytest.approx([2.0, 2.0], abs=0.2)


def test_stream_frames_are_recorded_as_received_and_replay_through_the_frame_parser(
    tmp_path: Path,
) -> None:
    lines = (FIXTURES / "polymarket" / "ws_market_book.jsonl").read_text().splitlines()
    lines = [line for line in lines if line.strip()] + ["not json"]
    fake = FakeTime()
    frames = [Frame(text, fake.now() + timedelta(seconds=i)) for i, text in enumerate(lines)]
    with Recorder(tmp_path / "rec", venue="polymarket", now=fake.now) as recorder:
        assert list(recording_frames(frames, recorder)) == frames
    venue = ReplayVenue(read_recording(tmp_path / "rec"))
    assert list(venue.frames()) == frames
    replayed = venue.stream_records()
    expected = [parse_ws_frame(json.loads(f.text), received_at=f.received_at) for f in frames[:-1]]
    assert replayed.records == [r for result in expected for r in result.records]
    assert replayed.records
    assert replayed.rejected[-1].reason == "invalid_json"


# --- broken recordings ---------------------------------------------------------------------------


@pytest.fixture
def sim_recording(tmp_path: Path) -> Path:
    out = tmp_path / "rec"
    record("sim", out, small_sim_settings(), polls=2)
    return out


def test_a_missing_manifest_is_one_clear_error(sim_recording: Path) -> None:
    (sim_recording / MANIFEST).unlink()
    with pytest.raises(InvalidInput, match=r"no manifest\.json: not a recording"):
        read_recording(sim_recording)


def test_a_truncated_last_line_is_one_clear_error(sim_recording: Path) -> None:
    results = sim_recording / RESULTS
    results.write_bytes(results.read_bytes()[:-30])
    with pytest.raises(InvalidInput, match=r"results\.jsonl: the last line is truncated"):
        read_recording(sim_recording)


def test_a_checksum_mismatch_is_one_clear_error(sim_recording: Path) -> None:
    polls = sim_recording / POLLS
    polls.write_text(polls.read_text().replace('"poll":1', '"poll":7'))
    with pytest.raises(InvalidInput, match=r"polls\.jsonl: checksum mismatch"):
        read_recording(sim_recording)


def test_an_unfinished_or_foreign_manifest_is_refused(sim_recording: Path) -> None:
    manifest = json.loads((sim_recording / MANIFEST).read_text())
    (sim_recording / MANIFEST).write_text(json.dumps(dict(manifest, complete=False)))
    with pytest.raises(InvalidInput, match="not finalised"):
        read_recording(sim_recording)
    (sim_recording / MANIFEST).write_text(json.dumps(dict(manifest, version=99)))
    with pytest.raises(InvalidInput, match="version 99 is not supported"):
        read_recording(sim_recording)
    (sim_recording / MANIFEST).write_text("{not json")
    with pytest.raises(InvalidInput, match="not readable JSON"):
        read_recording(sim_recording)


def test_the_replay_source_needs_a_sound_recording(sim_recording: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs EDGEWATCH_RECORDING_DIR"):
        create_venue("replay", load_settings())
    with pytest.raises(ConfigError, match="no manifest"):
        create_venue("replay", load_settings(recording_dir=tmp_path))
    assert create_venue("replay", load_settings(recording_dir=sim_recording)).name == "replay"


def test_recording_refuses_a_directory_in_use(sim_recording: Path) -> None:
    with pytest.raises(InvalidInput, match="not an empty directory"):
        record("sim", sim_recording, small_sim_settings())


# --- stopping and the command ---------------------------------------------------------------------


def test_an_interrupted_recording_keeps_whole_lines_and_a_final_manifest(tmp_path: Path) -> None:
    fake = FakeTime()
    naps = 0

    def sleep(seconds: float) -> None:
        nonlocal naps
        naps += 1
        if naps == 6:
            raise KeyboardInterrupt
        fake.sleep(seconds)

    summary = record_venue(
        "sim",
        settings=small_sim_settings(),
        out=tmp_path / "rec",
        duration=None,
        interval=1.0,
        clock=fake.clock,
        sleep=sleep,
        now=fake.now,
    )
    assert summary.interrupted and summary.polls == 2
    recording = read_recording(tmp_path / "rec")
    assert (
        len(recording.polls) == 2 and sum(map(len, recording.results.values())) == summary.results
    )


def test_record_command_prints_a_one_line_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEWATCH_SIM_EVENTS", "4")
    out = tmp_path / "rec"
    result = runner.invoke(
        record_app, ["--venue", "sim", "--out", str(out), "--duration", "0.3", "--interval", "0.1"]
    )
    assert result.exit_code == 0, result.output
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith(f"recorded sim to {out}: ") and "0 responses, 0 frames" in summary
    assert read_recording(out).polls


def test_record_command_refuses_an_unknown_venue(tmp_path: Path) -> None:
    result = runner.invoke(record_app, ["--venue", "nasdaq", "--out", str(tmp_path / "x")])
    assert isinstance(result.exception, InvalidInput)
    assert not (tmp_path / "x").exists()
