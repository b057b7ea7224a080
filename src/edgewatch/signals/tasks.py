"""The ``generate-signals`` pipeline step."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from edgewatch.config import Settings
from edgewatch.jobs.runner import PipelineContext, PipelineOutcome
from edgewatch.signals.service import generate_signals
from edgewatch.strategies.base import Strategy
from edgewatch.strategies.cross_venue_arbitrage import CrossVenueArbitrage
from edgewatch.strategies.registry import create_strategy


def live_strategies(settings: Settings) -> list[Strategy]:
    """The strategies that produce live signals, configured from settings.

    ``EDGEWATCH_LIVE_STRATEGIES`` names them (default: arbitrage only). Arbitrage takes its
    thresholds from the ``signal_*`` settings; the others run with their own defaults, the same
    parameters a backtest of them uses unless told otherwise. With ``EDGEWATCH_SIGNAL_MODEL``
    set, ``model_edge`` trades that model's active version; a missing or corrupt model fails the
    run (and readiness warns) rather than trading without it.
    """
    strategies: list[Strategy] = []
    for name in settings.live_strategies:
        if name == CrossVenueArbitrage.name:
            strategies.append(
                CrossVenueArbitrage(
                    min_edge=settings.signal_min_edge,
                    max_quote_age_seconds=settings.signal_max_quote_age_seconds,
                    ttl_seconds=settings.signal_ttl_seconds,
                )
            )
        else:
            strategies.append(create_strategy(name))
    if settings.signal_model:
        from edgewatch.forecasting.registry import ModelRegistry
        from edgewatch.strategies.model_edge import ModelEdge

        model = ModelRegistry.for_data_dir(settings.data_dir).load(settings.signal_model)
        strategies.append(
            ModelEdge(
                model,
                margin=settings.signal_model_margin,
                ttl_seconds=settings.signal_ttl_seconds,
            )
        )
    return strategies


def generate_signals_step(session: Session, context: PipelineContext) -> PipelineOutcome:
    settings = context.settings
    since = datetime.fromisoformat(context.previous_cursor) if context.previous_cursor else None
    result = generate_signals(
        session,
        live_strategies(settings),
        since=since,
        until=context.now,
        lookback=timedelta(
            seconds=max(settings.signal_max_quote_age_seconds, settings.signal_context_seconds)
        ),
        high_confidence=settings.high_confidence_threshold,
    )
    newest = result.newest_tick or since
    return PipelineOutcome(
        rows_in=result.ticks_evaluated,
        rows_stored=result.stored,
        cursor=newest.isoformat() if newest else None,
        details={"proposed": result.proposed, "stored_by_strategy": result.by_strategy},
    )
