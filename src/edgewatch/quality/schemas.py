"""API model of a data-quality finding."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

FindingKind = Literal[
    "gap", "stale_quote", "out_of_range", "crossed_quote", "jump", "duplicate_timestamp"
]


class FindingOut(BaseModel):
    """One problem in one market's data over ``[start_ts, end_ts]``.

    ``value`` is in the unit of the kind: seconds (gap, stale_quote), the price move (jump), the
    offending price (out_of_range; the bid for crossed_quote), ticks at one instant
    (duplicate_timestamp).
    """

    model_config = ConfigDict(from_attributes=True)

    id: int
    market_id: int
    venue: str
    kind: FindingKind
    start_ts: datetime
    end_ts: datetime
    tick_count: int
    value: float
    detail: str
    detected_at: datetime
    updated_at: datetime
