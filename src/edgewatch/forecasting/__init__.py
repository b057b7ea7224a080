"""Probability models: P(YES) of a market from its point-in-time features.

``dataset`` turns resolved markets and their ticks into samples (features at a tick, the outcome as
label); ``model`` fits a calibrated logistic regression on them with time-ordered splits;
``evaluation`` scores forecasts against outcomes and the market's own price; ``registry`` keeps
versioned models on disk (artifact, metadata, checksum, one active version per name). See
``docs/forecasting.md``.
"""
