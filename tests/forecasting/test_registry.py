"""The on-disk model registry: versions, the active pointer, checksums."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from forecastframes import synthetic_samples

from edgewatch.errors import Conflict, InvalidInput, NotFound
from edgewatch.forecasting.model import TrainingResult
from edgewatch.forecasting.registry import ARTIFACT, METADATA, ModelCorrupt, ModelRegistry

TRAINING = {"source": "test"}


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry.for_data_dir(tmp_path)


def test_saved_model_loads_back_with_the_same_predictions(
    registry: ModelRegistry, tiny_result: TrainingResult
) -> None:
    metadata = registry.save("baseline", tiny_result, training=TRAINING)
    loaded = registry.load("baseline", metadata["version"])
    frame = synthetic_samples(markets=5, seed=9)
    assert np.allclose(loaded.predict(frame), tiny_result.model.predict(frame))
    assert (loaded.name, loaded.version) == ("baseline", "1")
    stored = registry.metadata("baseline", "1")
    assert stored["features"] == ["mid", "time_to_close", "volatility_20t"]
    assert stored["feature_set_version"] == "1"
    assert stored["training"] == TRAINING
    assert stored["metrics"]["test"]["samples"] == tiny_result.test.samples
    assert len(stored["sha256"]) == 64
    assert set(stored["splits"]) == {"train", "validation", "test"}


def test_versions_count_up_and_activate_switches_the_active_one(
    registry: ModelRegistry, tiny_result: TrainingResult
) -> None:
    registry.save("baseline", tiny_result, training=TRAINING, activate=True)
    registry.save("baseline", tiny_result, training=TRAINING)
    assert registry.versions("baseline") == ["1", "2"]
    assert registry.active_version("baseline") == "1"
    registry.activate("baseline", "2")
    assert registry.active_version("baseline") == "2"
    assert registry.load("baseline").version == "2"
    assert registry.names() == ["baseline"]
    assert not [p for p in (registry.root / "baseline").iterdir() if p.name.startswith(".")]


def test_a_tampered_artifact_is_refused(
    registry: ModelRegistry, tiny_result: TrainingResult
) -> None:
    registry.save("baseline", tiny_result, training=TRAINING, activate=True)
    artifact = registry.root / "baseline" / "1" / ARTIFACT
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    with pytest.raises(ModelCorrupt, match="checksum"):
        registry.load("baseline")
    with pytest.raises(ModelCorrupt):
        registry.activate("baseline", "1")
    assert registry.status("baseline").status == "corrupt"


def test_a_model_for_another_feature_set_is_refused(
    registry: ModelRegistry, tiny_result: TrainingResult
) -> None:
    registry.save("baseline", tiny_result, training=TRAINING, activate=True)
    path = registry.root / "baseline" / "1" / METADATA
    metadata = json.loads(path.read_text())
    path.write_text(json.dumps(metadata | {"feature_set_version": "0"}))
    with pytest.raises(Conflict, match="feature set"):
        registry.load("baseline")
    assert registry.status("baseline").status == "incompatible"


def test_missing_models_and_versions_are_not_found(
    registry: ModelRegistry, tiny_result: TrainingResult
) -> None:
    with pytest.raises(NotFound):
        registry.load("nothing")
    assert registry.status("nothing").status == "missing"
    registry.save("baseline", tiny_result, training=TRAINING)
    with pytest.raises(NotFound):
        registry.activate("baseline", "7")
    with pytest.raises(NotFound, match="no active version"):
        registry.metadata("baseline")
    assert registry.statuses() == [registry.status("baseline")]


@pytest.mark.parametrize("name", ["", "../escape", "Upper", "a/b", "x" * 65])
def test_unsafe_model_names_are_refused(
    registry: ModelRegistry, tiny_result: TrainingResult, name: str
) -> None:
    with pytest.raises(InvalidInput):
        registry.save(name, tiny_result, training=TRAINING)
