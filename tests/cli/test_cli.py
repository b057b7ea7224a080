"""The command line: clear one-line errors, and the pipeline and database commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgewatch.cli import app
from edgewatch.config import Settings

runner = CliRunner()


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("EDGEWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "edgewatch", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"EDGEWATCH_DATABASE_URL": "nonsense"}, "EDGEWATCH_DATABASE_URL: not a database URL"),
        ({"EDGEWATCH_DATABASE_URL": "mysql://x/y"}, "unsupported database 'mysql'"),
        ({"EDGEWATCH_PORT": "eighty"}, "EDGEWATCH_PORT"),
        ({"EDGEWATCH_SOURCES": "sim,nasdaq"}, "unknown source(s) nasdaq"),
        (
            {"EDGEWATCH_ENVIRONMENT": "production", "EDGEWATCH_SECRET_KEY": "change-me"},
            "placeholder secret is refused",
        ),
        (
            {"EDGEWATCH_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"},
            "cannot use the database",
        ),
        (
            {"EDGEWATCH_API_WORKERS": "2", "EDGEWATCH_EMBEDDED_SCHEDULER": "true"},
            "EDGEWATCH_API_WORKERS > 1 needs the Celery scheduler",
        ),
        ({"EDGEWATCH_API_WORKERS": "0"}, "EDGEWATCH_API_WORKERS"),
    ],
)
def test_bad_configuration_fails_serve_with_one_clear_line(
    env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    result = run_cli("serve", env={"EDGEWATCH_DATA_DIR": str(tmp_path), **env})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["db", "upgrade", "nosuch"], "revision 'nosuch': Can't locate revision"),
        (["db", "downgrade", ""], "a revision is needed"),
        (["export", "{tmp}/out", "--from", "1e400"], "--from: time out of range: '1e400'"),
        (["backtest", "show", "99999999999999999999999"], "a number is out of range"),
        (
            ["paper", "create", "rich", "--balance", "1e400"],
            "starting_balance must be a positive amount up to 1,000,000,000",
        ),
        (
            ["paper", "create", "wide", "--max-total-exposure", "1e400"],
            "max_total_exposure: Input should be less than or equal to 1000000000",
        ),
        (["openapi", "export", "--output", "{tmp}"], "Is a directory: {tmp}"),
        (["smoke", "--url", "http://[::1"], "--url is not a usable URL"),
        (["db", "backups", "--in", "/dev/null"], "/dev/null: not a directory"),
        (
            ["record", "--venue", "sim", "--out", "{tmp}/rec", "--duration", "nan"],
            "--duration must be a number of seconds >= 0, got nan",
        ),
    ],
)
def test_bad_arguments_fail_with_one_clear_line(
    args: list[str], expected: str, tmp_path: Path
) -> None:
    tmp = str(tmp_path)
    result = run_cli(*(arg.format(tmp=tmp) for arg in args), env={"EDGEWATCH_DATA_DIR": tmp})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("edgewatch: ")
    assert expected.format(tmp=tmp) in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_pipeline_list_and_run(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEWATCH_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("EDGEWATCH_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("EDGEWATCH_SIM_EVENTS", "10")
    monkeypatch.setenv("EDGEWATCH_INGEST_BACKFILL_MINUTES", "5")
    before = runner.invoke(app, ["pipeline", "list"])
    assert before.exit_code == 0, before.output
    assert "ingest-sim" in before.output and "never" in before.output
    result = runner.invoke(app, ["pipeline", "run", "ingest-sim"])
    assert result.exit_code == 0, result.output
    assert "ingest-sim: succeeded" in result.output
    after = runner.invoke(app, ["pipeline", "list"])
    assert "succeeded" in after.output and "1 runs recorded" in after.output


def test_unknown_pipeline_is_one_clear_line(tmp_path: Path) -> None:
    result = run_cli("pipeline", "run", "ingest-nasdaq", env={"EDGEWATCH_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line
    assert line.startswith("edgewatch: unknown pipeline 'ingest-nasdaq' (available: ingest-sim, ")
    assert "generate-signals" in line and "evaluate-alerts" in line


def test_db_upgrade_downgrade_and_check(tmp_path: Path) -> None:
    env = {"EDGEWATCH_DATA_DIR": str(tmp_path)}
    assert run_cli("db", "upgrade", env=env).returncode == 0
    assert run_cli("db", "check", env=env).returncode == 0
    down = run_cli("db", "downgrade", "base", env=env)
    assert down.returncode == 0, down.stderr
    assert run_cli("db", "upgrade", env=env).returncode == 0


def test_every_command_has_help() -> None:
    for args in (["--help"], ["db", "--help"], ["pipeline", "--help"], ["demo", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0
        assert "Usage" in result.output
