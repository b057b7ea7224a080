"""``edgewatch backtest``: run, rerun, list, show, compare, sweep, walk-forward from the shell."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from edgewatch.backtest import service
from edgewatch.backtest.cli import app, parse_duration
from edgewatch.config import Settings
from edgewatch.db.session import session_scope
from edgewatch.errors import InvalidInput
from edgewatch.models.backtest import BacktestRun

from .test_backtest_service import ingest_sim

runner = CliRunner()
STEP = '{"step_seconds": 120}'


@pytest.fixture
def cli_env(
    settings: Settings, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> sessionmaker[Session]:
    monkeypatch.setenv("EDGEWATCH_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("EDGEWATCH_DATA_DIR", str(settings.data_dir))
    ingest_sim(session_factory)
    return session_factory


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def run_json(*extra: str) -> dict[str, Any]:
    result = invoke("run", "--strategy", "mean_reversion", "--settings", STEP, "--json", *extra)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def runs_stored(factory: sessionmaker[Session]) -> int:
    with session_scope(factory) as session:
        return session.scalar(select(func.count()).select_from(BacktestRun)) or 0


def test_run_with_json_prints_the_stored_run_and_its_metrics(
    cli_env: sessionmaker[Session],
) -> None:
    document = run_json("--params", '{"entry_zscore": 1.5}', "--seed", "9")
    assert document["status"] == "succeeded"
    assert document["params"] == {"entry_zscore": 1.5}
    assert document["seed"] == 9 and document["metrics"]["seed"] == 9
    with session_scope(cli_env) as session:
        stored = session.get_one(BacktestRun, document["run_id"])
        assert stored.metrics == document["metrics"]


def test_run_prints_a_metrics_table_and_rerun_list_show_compare_follow(
    cli_env: sessionmaker[Session],
) -> None:
    table = invoke("run", "--strategy", "momentum", "--settings", STEP)
    assert table.exit_code == 0, table.output
    assert "sharpe" in table.stdout and "fees_paid" in table.stdout
    first = run_json("--from", "2026-06-01T11:25:00Z", "--to", "2026-06-01T11:55:00Z")
    assert first["window_start"] == "2026-06-01T11:25:00+00:00"

    again = invoke("rerun", str(first["run_id"]))
    assert again.exit_code == 0, again.output
    assert f"metrics identical to run {first['run_id']}" in again.stdout

    listed = invoke("list")
    assert listed.exit_code == 0 and "mean_reversion" in listed.stdout
    assert "momentum" in listed.stdout

    shown = invoke("show", str(first["run_id"]), "--json")
    assert json.loads(shown.stdout)["metrics"] == first["metrics"]

    compared = invoke("compare", str(first["run_id"]), str(first["run_id"] + 1), "--json")
    assert compared.exit_code == 0, compared.output
    body = json.loads(compared.stdout)
    assert body["difference"]["pnl"] in ("0", "0E-5", "0.00000") or float(
        body["difference"]["pnl"]
    ) == pytest.approx(0)
    assert invoke("compare", str(first["run_id"]), "1").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "--strategy", "mean_reversion", "--params", "{oops"],
            "--params is not valid JSON",
        ),
        (["run", "--strategy", "mean_reversion", "--params", "[1]"], "must be a JSON object"),
        (["run", "--strategy", "nope"], "unknown strategy 'nope'"),
        (["run", "--strategy", "momentum", "--params", '{"x": 1}'], "unknown parameter(s) x"),
        (["run", "--strategy", "momentum", "--from", "yesterday"], "not an ISO 8601 time"),
        (["run", "--strategy", "momentum", "--settings", '{"fast": true}'], "unknown backtest"),
        (["show", "4242"], "no backtest run 4242"),
        (["sweep", "--strategy", "momentum", "--grid", "{}"], "non-empty JSON object"),
        (
            ["walk-forward", "--strategy", "momentum", "--train", "soon", "--test", "1h"],
            "not a duration",
        ),
    ],
)
def test_user_errors_are_one_line_and_exit_2(
    cli_env: sessionmaker[Session], args: list[str], message: str
) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("edgewatch: ") and message in lines[0]
    assert "Traceback" not in result.output
    assert runs_stored(cli_env) == 0


def test_ctrl_c_cancels_cleanly_and_stores_nothing(
    cli_env: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(**_: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(service, "execute", interrupted)
    result = invoke("run", "--strategy", "momentum")
    assert result.exit_code == 130
    assert result.stderr.strip() == "edgewatch: cancelled; nothing was stored"
    assert runs_stored(cli_env) == 0


def test_sweep_runs_random_grid_points_and_reports_each(cli_env: sessionmaker[Session]) -> None:
    result = invoke(
        "sweep", "--strategy", "mean_reversion", "--settings", STEP,
        "--grid", '{"entry_zscore": [1.5, 2, 2.5], "reversion": [0.5, 0.8]}',
        "--random", "2", "--seed", "11", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    trials = json.loads(result.stdout)["trials"]
    assert len(trials) == 2
    assert trials[0]["params"] != trials[1]["params"]
    assert runs_stored(cli_env) == 2
    table = invoke(
        "sweep", "--strategy", "momentum", "--settings", STEP, "--grid", '{"entry_momentum": [2.5]}'
    )
    assert table.exit_code == 0, table.output
    assert "sweep of momentum: 1 trials" in table.stdout


def test_walk_forward_reports_out_of_sample_windows_only(cli_env: sessionmaker[Session]) -> None:
    result = invoke(
        "walk-forward", "--strategy", "mean_reversion", "--settings", STEP,
        "--train", "15m", "--test", "8m", "--grid", '{"entry_zscore": [1.5, 2.5]}', "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    replayed = [w for w in report["windows"] if w["run_id"] is not None]
    assert report["out_of_sample"]["windows_replayed"] == len(replayed) >= 2
    assert runs_stored(cli_env) == len(replayed)
    table = invoke(
        "walk-forward", "--strategy", "momentum", "--settings", STEP,
        "--train", "15m", "--test", "8m",
    )  # fmt: skip
    assert table.exit_code == 0, table.output
    assert "out of sample: pnl" in table.stdout


def test_durations_parse_in_units_and_combinations() -> None:
    assert parse_duration("90s").total_seconds() == 90
    assert parse_duration("1h30m").total_seconds() == 5400
    assert parse_duration("2d").total_seconds() == 172_800
    with pytest.raises(InvalidInput):
        parse_duration("1x")
