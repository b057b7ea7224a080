"""Versioned models on disk, one active version per name.

Layout under ``settings.data_dir / "models"``::

    <name>/<version>/model.pickle      the fitted estimator
    <name>/<version>/metadata.json    metrics, training window, feature set version, sha256, …
    <name>/active                     the active version, replaced atomically (write + rename)

Versions are 1, 2, 3… per name. A version is written in a staging directory and renamed into
place, so a reader never sees half a model. Loading checks the artifact's sha256 against the
metadata before unpickling it — a changed or truncated artifact raises ``ModelCorrupt`` instead of
running — and refuses a model built for another feature set or model kind (``Conflict``).
The checksum guards integrity, not trust: only load models this installation wrote.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from edgewatch.clock import utcnow
from edgewatch.errors import Conflict, InvalidInput, NotFound
from edgewatch.features import FEATURE_SET_VERSION

if TYPE_CHECKING:
    # scikit-learn is imported only when a model is checked or loaded, not to list the registry.
    from edgewatch.forecasting.model import ForecastModel, TrainingResult

ARTIFACT = "model.pickle"
METADATA = "metadata.json"
ACTIVE = "active"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class ModelCorrupt(Conflict):
    """A stored artifact does not match its recorded checksum: retrain or restore it."""

    code = "model-corrupt"


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """How one model name stands: its active version, and whether that version can be used."""

    name: str
    active: str | None
    status: Literal["ok", "missing", "corrupt", "incompatible"]
    detail: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput(
            f"model name {name!r}: use 1–64 lowercase letters, digits, '_' or '-', "
            "starting with a letter or digit"
        )
    return name


class ModelRegistry:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> ModelRegistry:
        return cls(data_dir / "models")

    # -- writing -----------------------------------------------------------------------------
    def save(
        self,
        name: str,
        result: TrainingResult,
        *,
        training: dict[str, Any],
        activate: bool = False,
    ) -> dict[str, Any]:
        """Store a trained model as the next version of ``name``; its metadata.

        ``training`` describes where the data came from (source, window, seed, …).
        """
        directory = self.root / check_name(name)
        directory.mkdir(parents=True, exist_ok=True)
        staging = directory / f".staging-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            model = result.model
            (staging / ARTIFACT).write_bytes(pickle.dumps(model.estimator, protocol=5))
            metadata: dict[str, Any] = {
                "name": name,
                "version": None,
                "created_at": utcnow().isoformat(),
                "kind": model.kind,
                "calibration": model.calibration,
                "features": list(model.feature_names),
                "feature_set_version": model.feature_set_version,
                "artifact": ARTIFACT,
                "sha256": sha256_of(staging / ARTIFACT),
                "training": training,
                "splits": result.splits,
                "metrics": {
                    "validation": result.validation.to_dict(),
                    "test": result.test.to_dict(),
                },
            }
            version = self._claim(directory, staging, metadata)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        metadata["version"] = version
        if activate:
            self.activate(name, version)
        return metadata

    def _claim(self, directory: Path, staging: Path, metadata: dict[str, Any]) -> str:
        # Two trainings may finish at once: whoever renames first gets the number, the other
        # tries the next one.
        for _ in range(100):
            version = str(max((int(v) for v in self._versions(directory)), default=0) + 1)
            metadata["version"] = version
            (staging / METADATA).write_text(json.dumps(metadata, indent=2, sort_keys=True))
            try:
                staging.rename(directory / version)
            except OSError:
                continue
            return version
        raise Conflict(f"could not claim a version number for model {directory.name}")

    def activate(self, name: str, version: str) -> None:
        """Make ``version`` the active one; ``NotFound`` if absent, ``ModelCorrupt`` if tampered."""
        self.verify(name, version)
        directory = self.root / name
        temporary = directory / f".{ACTIVE}-{uuid.uuid4().hex}"
        temporary.write_text(version)
        temporary.replace(directory / ACTIVE)

    # -- reading -----------------------------------------------------------------------------
    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name))

    def versions(self, name: str) -> list[str]:
        return sorted(self._versions(self.root / check_name(name)), key=int)

    @staticmethod
    def _versions(directory: Path) -> list[str]:
        if not directory.is_dir():
            return []
        return [p.name for p in directory.iterdir() if p.is_dir() and p.name.isdigit()]

    def active_version(self, name: str) -> str | None:
        pointer = self.root / check_name(name) / ACTIVE
        try:
            return pointer.read_text().strip() or None
        except FileNotFoundError:
            return None

    def metadata(self, name: str, version: str | None = None) -> dict[str, Any]:
        """Metadata of ``version`` (default: the active one); ``NotFound`` if there is none."""
        resolved = version or self.active_version(name)
        if resolved is None:
            raise NotFound(f"model {name!r} has no active version; activate one or pass VERSION")
        path = self.root / check_name(name) / resolved / METADATA
        if not resolved.isdigit() or not path.is_file():
            raise NotFound(f"model {name!r} has no version {resolved!r}")
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def verify(self, name: str, version: str) -> dict[str, Any]:
        """Metadata, after checking the artifact's checksum and compatibility with this code."""
        metadata = self.metadata(name, version)
        artifact = self.root / name / version / str(metadata.get("artifact", ARTIFACT))
        if not artifact.is_file():
            raise ModelCorrupt(f"model {name} v{version}: artifact {artifact.name} is missing")
        if sha256_of(artifact) != metadata.get("sha256"):
            raise ModelCorrupt(
                f"model {name} v{version}: artifact checksum does not match its metadata"
            )
        if metadata.get("feature_set_version") != FEATURE_SET_VERSION:
            raise Conflict(
                f"model {name} v{version} was trained on feature set "
                f"{metadata.get('feature_set_version')}, this code computes {FEATURE_SET_VERSION}"
            )
        from edgewatch.forecasting.model import MODEL_KIND

        if metadata.get("kind") != MODEL_KIND:
            raise Conflict(f"model {name} v{version} is a {metadata.get('kind')}, not {MODEL_KIND}")
        return metadata

    def load(self, name: str, version: str | None = None) -> ForecastModel:
        """The model ``version`` of ``name`` (default: the active one), verified first."""
        resolved = version or self.active_version(name)
        if resolved is None:
            raise NotFound(f"model {name!r} has no active version")
        metadata = self.verify(name, resolved)
        artifact = self.root / name / resolved / str(metadata["artifact"])
        estimator = pickle.loads(artifact.read_bytes())
        from edgewatch.forecasting.model import ForecastModel

        return ForecastModel(
            estimator=estimator,
            feature_names=tuple(metadata["features"]),
            feature_set_version=str(metadata["feature_set_version"]),
            kind=str(metadata["kind"]),
            calibration=str(metadata.get("calibration", "none")),
            name=name,
            version=resolved,
        )

    def status(self, name: str) -> ModelStatus:
        """Whether ``name`` has an active version that verifies (never raises for a bad model)."""
        active = self.active_version(name)
        if active is None:
            return ModelStatus(name, None, "missing", f"{name}: no active version")
        try:
            self.verify(name, active)
        except ModelCorrupt as exc:
            return ModelStatus(name, active, "corrupt", exc.message)
        except NotFound as exc:
            return ModelStatus(name, active, "missing", exc.message)
        except Conflict as exc:
            return ModelStatus(name, active, "incompatible", exc.message)
        return ModelStatus(name, active, "ok", f"{name}: v{active} active, checksum verified")

    def statuses(self, names: Iterable[str] | None = None) -> list[ModelStatus]:
        return [self.status(name) for name in (self.names() if names is None else names)]


def created_at(metadata: dict[str, Any]) -> datetime | None:
    value = metadata.get("created_at")
    return datetime.fromisoformat(value) if isinstance(value, str) else None
