"""``edgewatch models``: train on the simulator, list, activate, evaluate."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgewatch.errors import InvalidInput
from edgewatch.forecasting.cli import app
from edgewatch.forecasting.registry import ModelRegistry

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EDGEWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def test_train_list_activate_evaluate_on_the_simulator(data_dir: Path) -> None:
    train = [
        "train", "--name", "sim-test", "--source", "sim", "--sim-days", "0.25",
        "--sim-events", "30", "--sim-seed", "4",
    ]  # fmt: skip
    first = runner.invoke(app, train)
    assert first.exit_code == 0, first.output
    assert "sim-test v1:" in first.output and "Brier" in first.output
    second = runner.invoke(app, [*train, "--activate", "--calibration", "sigmoid"])
    assert second.exit_code == 0, second.output
    registry = ModelRegistry.for_data_dir(data_dir)
    assert registry.versions("sim-test") == ["1", "2"]
    assert registry.active_version("sim-test") == "2"

    listing = runner.invoke(app, ["list"])
    assert listing.exit_code == 0 and "sim-test" in listing.output

    assert runner.invoke(app, ["activate", "sim-test", "1"]).exit_code == 0
    assert registry.active_version("sim-test") == "1"

    evaluation = runner.invoke(app, ["evaluate", "sim-test"])
    assert evaluation.exit_code == 0, evaluation.output
    assert "sim-test v1 — test" in evaluation.output
    assert "calibration (test)" in evaluation.output
    assert "0.9–1.0" in evaluation.output
    assert "Brier advantage" in evaluation.output


def test_unknown_source_is_refused(data_dir: Path) -> None:
    result = runner.invoke(app, ["train", "--name", "x", "--source", "moon"])
    assert result.exit_code != 0


def test_training_from_an_empty_database_says_what_is_missing(
    data_dir: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEWATCH_DATABASE_URL", db_url)
    result = runner.invoke(app, ["train", "--name", "stored", "--from", "2026-01-01"])
    assert result.exit_code != 0
    assert isinstance(result.exception, InvalidInput)
    assert "too few" in result.exception.message
    assert ModelRegistry.for_data_dir(data_dir).names() == []
