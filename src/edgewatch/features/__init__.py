"""Features: named, versioned, causal functions of tick data, computed vectorised with polars.

``market_features`` adds per-market features to a tick frame; ``pair_features`` builds the
timeline of each linked market pair with its cross-venue features. What each feature means is
in ``registry.FEATURES`` (and ``docs/features.md``, rendered from it).
"""

from edgewatch.features.compute import market_features, markets_frame, pair_features
from edgewatch.features.registry import (
    FEATURE_SET_VERSION,
    FEATURES,
    FeatureSpec,
    feature,
    features_of,
)

__all__ = [
    "FEATURES",
    "FEATURE_SET_VERSION",
    "FeatureSpec",
    "feature",
    "features_of",
    "market_features",
    "markets_frame",
    "pair_features",
]
