"""``/api/v1/data-quality``: what the quality checks found, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from edgewatch.api import API_V1_PREFIX
from edgewatch.api.deps import ReadSessionDep
from edgewatch.api.pagination import CursorParam, Page, decode_id_cursor, encode_cursor, split_page
from edgewatch.api.params import IsoDateTime, id_query, text_filter, utc_param
from edgewatch.api.problems import problem_responses
from edgewatch.api.routing import ApiRoute
from edgewatch.quality import repository
from edgewatch.quality.schemas import FindingKind, FindingOut

router = APIRouter(
    route_class=ApiRoute, prefix=f"{API_V1_PREFIX}/data-quality", tags=["data quality"]
)


@router.get(
    "",
    summary="List data-quality findings, newest first",
    responses=problem_responses(422),
)
def list_findings(
    session: ReadSessionDep,
    venue: Annotated[str | None, text_filter(max_length=32, description="Only this venue.")] = None,
    market_id: Annotated[int | None, id_query("Only findings in this market.")] = None,
    kind: Annotated[FindingKind | None, Query(description="Only this kind of problem.")] = None,
    since: Annotated[
        IsoDateTime | None,
        Query(description="Only findings whose episode ended at or after this (ISO 8601)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: CursorParam = None,
) -> Page[FindingOut]:
    """Findings ordered newest first (by id, the order they were first stored)."""
    rows, has_more = split_page(
        repository.list_findings(
            session,
            limit=limit + 1,
            venue=venue,
            market_id=market_id,
            kind=kind,
            since=utc_param(since, name="since"),
            before_id=decode_id_cursor(cursor),
        ),
        limit,
    )
    return Page(
        items=[FindingOut.model_validate(row) for row in rows],
        next_cursor=encode_cursor(rows[-1].id) if has_more else None,
    )
