"""``edgewatch venues normalize`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from edgewatch.venues.cli import app

FIXTURES = Path(__file__).parents[1] / "fixtures" / "venues"
runner = CliRunner()


def normalize(*args: str) -> tuple[int, list[dict[str, object]], list[str]]:
    result = runner.invoke(app, ["normalize", *args])
    records = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, records, result.stderr.splitlines()


def test_normalize_prints_json_lines_with_iso_utc_times() -> None:
    code, records, errors = normalize(
        "--venue", "kalshi", "--kind", "events", str(FIXTURES / "kalshi/rest_get_event.json")
    )
    assert code == 0 and errors == []
    assert [r["record"] for r in records] == ["event", "market", "tick"]
    tick = records[2]
    assert tick["bid"] == 0.06 and tick["ask"] == 0.07
    assert tick["ts"] == "2026-01-12T22:08:10.758401Z"  # the recording time
    assert records[1]["close_time"] == "2099-08-01T04:59:00Z"


def test_normalize_stream_frames_from_json_lines() -> None:
    code, records, _ = normalize(
        "--venue", "polymarket", "--kind", "ws", str(FIXTURES / "polymarket/ws_market_book.jsonl")
    )
    assert code == 0
    assert {r["record"] for r in records} == {"orderbook", "tick"}


def test_rejected_records_go_to_stderr_with_their_reason(tmp_path: Path) -> None:
    path = tmp_path / "frames.jsonl"
    good = (FIXTURES / "kalshi/ws_ticker.jsonl").read_text().splitlines()[0]
    bad = json.loads(good)
    bad["msg"]["yes_bid_dollars"] = "1.5000"
    path.write_text("\n".join([good, json.dumps(bad), "not json", ""]))
    code, records, errors = normalize("--venue", "kalshi", "--kind", "ws", str(path))
    assert code == 0
    assert len(records) == 1
    rejected = [json.loads(line) for line in errors]
    assert [r["reason"].split(":")[0] for r in rejected] == ["out_of_range", "wrong_type"]
    assert rejected[1]["payload"] == "not json"


def test_orderbook_needs_its_market_unless_the_recording_names_it(tmp_path: Path) -> None:
    path = tmp_path / "book.json"
    path.write_text(json.dumps({"orderbook_fp": {"yes_dollars": [["0.40", "1.00"]]}}))
    result = runner.invoke(
        app, ["normalize", "--venue", "kalshi", "--kind", "orderbook", str(path)]
    )
    assert result.exit_code == 2 and "--market" in result.stderr
    code, records, _ = normalize(
        "--venue", "kalshi", "--kind", "orderbook", "--market", "M", str(path)
    )
    assert code == 0 and records[0]["venue_market_id"] == "M" and records[0]["bids"] == [[0.4, 1.0]]


def test_unreadable_or_non_json_file_exits_2_with_one_line(tmp_path: Path) -> None:
    missing = runner.invoke(
        app, ["normalize", "--venue", "kalshi", "--kind", "markets", str(tmp_path / "nope.json")]
    )
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    broken = runner.invoke(
        app, ["normalize", "--venue", "kalshi", "--kind", "markets", str(garbage)]
    )
    for result in (missing, broken):
        assert result.exit_code == 2
        assert len(result.stderr.strip().splitlines()) == 1
        assert result.stderr.startswith("edgewatch: ")
        assert "Traceback" not in result.output


def test_unknown_venue_or_kind_combination_exits_2(tmp_path: Path) -> None:
    path = FIXTURES / "kalshi/rest_get_trades.json"
    result = runner.invoke(
        app, ["normalize", "--venue", "polymarket", "--kind", "candlesticks", str(path)]
    )
    assert result.exit_code == 2 and "not available" in result.stderr
    result = runner.invoke(app, ["normalize", "--venue", "kalshi", "--kind", "bogus", str(path)])
    assert result.exit_code == 2 and "--kind must be one of" in result.stderr
