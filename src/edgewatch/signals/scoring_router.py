"""``/api/v1/signals/scores`` and ``/api/v1/strategies/{name}/calibration``.

Scores are computed from the signals and markets tables on each request (see ``scoring`` for
what each number means); only signals whose markets resolved YES or NO appear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from edgewatch.api import API_V1_PREFIX
from edgewatch.api.cache import cached
from edgewatch.api.deps import SessionDep
from edgewatch.api.pagination import CursorParam, Page, decode_id_cursor, encode_cursor, split_page
from edgewatch.api.params import IsoDateTime, text_filter, utc_param
from edgewatch.api.problems import problem_responses
from edgewatch.api.routing import ApiRoute
from edgewatch.errors import NotFound
from edgewatch.signals import scoring
from edgewatch.strategies.model_edge import ModelEdge
from edgewatch.strategies.registry import strategy_names

router = APIRouter(route_class=ApiRoute, prefix=API_V1_PREFIX, tags=["signals"])

SinceParam = Annotated[
    IsoDateTime | None, Query(description="Only signals with signal_ts at or after (ISO 8601).")
]


class SignalScoreOut(BaseModel):
    signal_id: int
    strategy: str
    strategy_version: str
    model: str | None
    market_id: int
    paired_market_id: int | None
    side: str
    signal_ts: datetime
    resolved_at: datetime | None
    resolution: str
    limit_price: float
    contracts: int
    #: P(YES) the signal implied; ``market_probability`` is its fill price in YES terms.
    probability: float
    market_probability: float
    promised_edge: float
    #: Dollars per contract after fees; null when a leg's fee schedule is unknown.
    realised_edge: float | None
    hit: bool | None
    brier: float
    log_loss: float


class CalibrationBucket(BaseModel):
    bin_low: float
    bin_high: float
    count: int
    mean_probability: float | None
    observed_frequency: float | None


class CalibrationOut(BaseModel):
    strategy: str
    signals: int
    hit_rate: float | None
    edge_promised: float | None
    edge_realised: float | None
    brier: float | None
    log_loss: float | None
    brier_market: float | None
    #: Market Brier minus the strategy's: positive when the strategy beat its fill price.
    brier_advantage: float | None
    buckets: list[CalibrationBucket]


@router.get(
    "/signals/scores",
    summary="Scores of signals on resolved markets, newest first",
    responses=problem_responses(422),
    dependencies=[cached("signal-scores", reads=("signals", "markets"), ttl_seconds=900)],
)
def list_scores(
    session: SessionDep,
    strategy: Annotated[
        str | None, text_filter(max_length=64, description="Only this strategy.")
    ] = None,
    since: SinceParam = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: CursorParam = None,
) -> Page[SignalScoreOut]:
    rows, has_more = split_page(
        scoring.scores(
            session,
            strategy=strategy,
            since=utc_param(since, name="since"),
            before_id=decode_id_cursor(cursor),
            limit=limit + 1,
        ),
        limit,
    )
    return Page(
        items=[SignalScoreOut.model_validate(row, from_attributes=True) for row in rows],
        next_cursor=encode_cursor(rows[-1].signal_id) if has_more else None,
    )


@router.get(
    "/strategies/{name}/calibration",
    summary="A strategy's calibration, Brier advantage and edge realised vs promised",
    responses=problem_responses(404, 422),
    dependencies=[cached("calibration", reads=("signals", "markets"), ttl_seconds=900)],
)
def strategy_calibration(
    session: SessionDep,
    name: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9_]+$")],
    since: SinceParam = None,
    bins: Annotated[int, Query(ge=2, le=50)] = 10,
) -> CalibrationOut:
    if name not in {*strategy_names(), ModelEdge.name}:
        raise NotFound(f"unknown strategy {name!r}")
    item = scoring.strategy_calibration(
        session, name, since=utc_param(since, name="since"), bins=bins
    )
    buckets: list[dict[str, Any]] = item.calibration.to_dicts()
    return CalibrationOut(
        strategy=item.strategy,
        signals=item.signals,
        hit_rate=scoring.finite(item.hit_rate),
        edge_promised=scoring.finite(item.edge_promised),
        edge_realised=scoring.finite(item.edge_realised),
        brier=scoring.finite(item.brier),
        log_loss=scoring.finite(item.log_loss),
        brier_market=scoring.finite(item.brier_market),
        brier_advantage=scoring.finite(item.brier_advantage),
        buckets=[CalibrationBucket(**bucket) for bucket in buckets],
    )
