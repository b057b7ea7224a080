"""Readiness reports whether the models the strategies need are active and intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgewatch.api.health import check_models
from edgewatch.config import Settings
from edgewatch.forecasting.model import TrainingResult
from edgewatch.forecasting.registry import ARTIFACT, ModelRegistry


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        data_dir=tmp_path,
        secret_key="test-secret-key-not-a-placeholder",  # type: ignore[arg-type]
    )


def test_no_models_needed_is_ok(settings: Settings) -> None:
    check = check_models(settings)
    assert check.status == "ok" and not check.required


def test_an_active_verified_model_is_ok(settings: Settings, tiny_result: TrainingResult) -> None:
    ModelRegistry.for_data_dir(settings.data_dir).save(
        "edge", tiny_result, training={}, activate=True
    )
    check = check_models(settings, required=["edge"])
    assert check.status == "ok"
    assert "edge: v1 active, checksum verified" in check.detail


def test_a_required_model_without_active_version_warns(
    settings: Settings, tiny_result: TrainingResult
) -> None:
    ModelRegistry.for_data_dir(settings.data_dir).save("edge", tiny_result, training={})
    assert check_models(settings).status == "ok"  # not needed by anything: nothing to warn about
    check = check_models(settings, required=["edge"])
    assert check.status == "warn" and "no active version" in check.detail


def test_a_tampered_active_model_warns(settings: Settings, tiny_result: TrainingResult) -> None:
    registry = ModelRegistry.for_data_dir(settings.data_dir)
    registry.save("edge", tiny_result, training={}, activate=True)
    (registry.root / "edge" / "1" / ARTIFACT).write_bytes(b"not a model")
    check = check_models(settings)
    assert check.status == "warn" and "checksum" in check.detail
