"""``edgewatch sim truth`` writes the hidden truth of a window to a file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from edgewatch.venues.sim.cli import app

runner = CliRunner()


def test_truth_file_has_events_outcomes_and_mispricings(tmp_path: Path) -> None:
    out = tmp_path / "truth.json"
    result = runner.invoke(
        app,
        ["--out", str(out), "--from", "2026-06-01T10:00:00Z", "--to", "2026-06-01T11:00:00Z"],
    )
    assert result.exit_code == 0, result.output
    truth = json.loads(out.read_text())
    assert truth["seed"] == 7 and truth["events"]
    event = truth["events"][0]
    assert event["outcome"] in ("yes", "no")
    assert all(0 < p < 1 for _, p in event["true_probability"])
    assert any(e["mispricings"] for e in truth["events"])


def test_an_empty_window_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["--out", str(tmp_path / "t.json"), "--from", "2026-06-01T11:00:00Z", "--to", "2026-06-01"],
    )
    assert result.exit_code != 0
    assert not (tmp_path / "t.json").exists()
