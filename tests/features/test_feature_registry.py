from __future__ import annotations

from pathlib import Path

from edgewatch.features import FEATURE_SET_VERSION, FEATURES
from edgewatch.features.registry import fingerprint, render_docs

DOCS = Path(__file__).parents[2] / "docs" / "features.md"

#: Update together with FEATURE_SET_VERSION whenever a feature is added, removed or re-versioned.
PINNED = {"1": "e037d1132dd592ed"}


def test_every_registered_feature_is_documented() -> None:
    text = DOCS.read_text()
    missing = [spec.name for spec in FEATURES if f"`{spec.name}`" not in text]
    assert not missing


def test_docs_are_rendered_from_the_registry() -> None:
    assert DOCS.read_text() == render_docs(), (
        "run: uv run python -m edgewatch.features > docs/features.md"
    )


def test_changing_the_feature_set_requires_a_new_set_version() -> None:
    assert PINNED.get(FEATURE_SET_VERSION) == fingerprint(), (
        "the feature set changed: bump FEATURE_SET_VERSION and pin its new fingerprint"
    )


def test_names_are_unique_and_specs_complete() -> None:
    names = [spec.name for spec in FEATURES]
    assert len(names) == len(set(names))
    for spec in FEATURES:
        assert spec.version and spec.unit and spec.description
