"""The pipeline table: every pipeline Edgewatch can run, by name.

``ingest-<source>`` exists for each configured source (``EDGEWATCH_SOURCES``); ``generate-signals``
runs after ingest. The embedded scheduler, ``edgewatch pipeline run`` and (later) Celery workers all
look pipelines up here and run them through ``jobs.runner.run_pipeline``.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgewatch.alerts.tasks import evaluate_alerts_step
from edgewatch.config import Settings
from edgewatch.db.backup_tasks import backup_step
from edgewatch.errors import InvalidInput
from edgewatch.jobs.runner import PipelineFn
from edgewatch.markets.links import match_markets_step
from edgewatch.paper.tasks import paper_trade_step
from edgewatch.quality.tasks import data_quality_step
from edgewatch.retention.tasks import retention_step
from edgewatch.signals.tasks import generate_signals_step
from edgewatch.ticks.ingest import ingest_pipeline
from edgewatch.venues.registry import create_venue


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    name: str
    description: str
    step: PipelineFn


def available_pipelines(settings: Settings) -> dict[str, PipelineSpec]:
    specs = [
        PipelineSpec(
            f"ingest-{source}",
            f"fetch markets and quotes from {source}, validate, store",
            ingest_pipeline(create_venue(source, settings)),
        )
        for source in settings.sources
    ]
    specs.append(
        PipelineSpec(
            "match-markets",
            "propose cross-venue links between open markets and apply the link overrides file",
            match_markets_step,
        )
    )
    specs.append(
        PipelineSpec(
            "generate-signals",
            "run the live strategies over new ticks and store their signals",
            generate_signals_step,
        )
    )
    specs.append(
        PipelineSpec(
            "paper-trade",
            "trade new signals in paper accounts, fill orders on new quotes, settle resolutions",
            paper_trade_step,
        )
    )
    specs.append(
        PipelineSpec(
            "evaluate-alerts",
            "check the alert rules and notify the configured channels (docs/alerting.md)",
            evaluate_alerts_step,
        )
    )
    specs.append(
        PipelineSpec(
            "retention",
            "archive ticks and backtest runs past retention, verify the archive, then delete them",
            retention_step,
        )
    )
    specs.append(
        PipelineSpec(
            "backup",
            "back up the database with a checksum to EDGEWATCH_BACKUP_URL and prune old backups",
            backup_step,
        )
    )
    specs.append(
        PipelineSpec(
            "data-quality",
            "check new and quarantined ticks for gaps, stale or bad quotes, jumps, duplicates",
            data_quality_step,
        )
    )
    return {spec.name: spec for spec in specs}


def get_pipeline(settings: Settings, name: str) -> PipelineSpec:
    pipelines = available_pipelines(settings)
    if name not in pipelines:
        raise InvalidInput(f"unknown pipeline {name!r} (available: {', '.join(pipelines)})")
    return pipelines[name]
