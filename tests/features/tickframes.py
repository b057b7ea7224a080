"""Tick frames built by hand for the feature tests (imported as a plain module)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from edgewatch.strategies.base import TICK_SCHEMA

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def build_ticks(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """A ``TICK_SCHEMA`` frame; ``seconds`` after T0 stands in for ``tick_ts``."""
    records = []
    for row in rows:
        record = {name: row.get(name) for name in TICK_SCHEMA}
        record["tick_ts"] = row.get("tick_ts") or T0 + timedelta(seconds=row["seconds"])
        records.append(record)
    return pl.DataFrame(records, schema=TICK_SCHEMA).sort("market_id", "tick_ts")


def quotes(
    market_id: int,
    mids: Sequence[float],
    *,
    half_spread: float = 0.01,
    step_seconds: float = 10.0,
    offset_seconds: float = 0.0,
    volume_step: float = 10.0,
) -> list[dict[str, Any]]:
    """One tick per mid, ``step_seconds`` apart, with a symmetric spread."""
    return [
        {
            "market_id": market_id,
            "seconds": offset_seconds + i * step_seconds,
            "bid": round(mid - half_spread, 6),
            "ask": round(mid + half_spread, 6),
            "last": mid,
            "volume": volume_step * (i + 1),
            "bid_size": 100.0,
            "ask_size": 100.0,
        }
        for i, mid in enumerate(mids)
    ]
