"""``/api/v1/pipelines`` and ``/api/v1/quarantine``: pipeline runs and what they refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from edgewatch.api import API_V1_PREFIX
from edgewatch.api.deps import SessionDep
from edgewatch.api.pagination import CursorParam, Page, decode_id_cursor, encode_cursor, split_page
from edgewatch.api.params import text_filter
from edgewatch.api.problems import problem_responses
from edgewatch.jobs import repository

router = APIRouter(prefix=API_V1_PREFIX, tags=["pipelines"])


class PipelineRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    pipeline: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    rows_in: int
    rows_stored: int
    rows_rejected: int
    error: str | None
    details: dict[str, Any]


class RejectedRecordOut(BaseModel):
    id: int
    created_at: datetime
    venue: str
    kind: str
    reason: str
    pipeline_run_id: int | None
    payload: str
    payload_truncated: bool


@router.get(
    "/pipelines",
    summary="List recent pipeline runs, newest first",
    responses=problem_responses(422),
)
def list_pipeline_runs(
    session: SessionDep,
    pipeline: Annotated[
        str | None, text_filter(max_length=64, description="Only this pipeline.")
    ] = None,
    status: Annotated[Literal["running", "succeeded", "failed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: CursorParam = None,
) -> Page[PipelineRunOut]:
    rows, has_more = split_page(
        list(
            repository.list_runs(
                session,
                limit=limit + 1,
                pipeline=pipeline,
                status=status,
                before_id=decode_id_cursor(cursor),
            )
        ),
        limit,
    )
    return Page(
        items=[PipelineRunOut.model_validate(run) for run in rows],
        next_cursor=encode_cursor(rows[-1].id) if has_more else None,
    )


@router.get(
    "/quarantine",
    summary="List quarantined venue records, newest first",
    responses=problem_responses(422),
)
def list_quarantine(
    session: SessionDep,
    venue: Annotated[str | None, text_filter(max_length=32, description="Only this venue.")] = None,
    reason: Annotated[
        str | None, text_filter(max_length=200, description="Only this reason.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: CursorParam = None,
) -> Page[RejectedRecordOut]:
    """Records that failed validation at the venue boundary; payloads are cut at 2,000 chars."""
    rows, has_more = split_page(
        list(
            repository.list_rejected(
                session,
                limit=limit + 1,
                venue=venue,
                reason=reason,
                before_id=decode_id_cursor(cursor),
            )
        ),
        limit,
    )
    preview = repository.PAYLOAD_PREVIEW_CHARS
    items = [
        RejectedRecordOut(
            id=row.id,
            created_at=row.created_at,
            venue=row.venue,
            kind=row.kind,
            reason=row.reason,
            pipeline_run_id=row.pipeline_run_id,
            payload=row.payload[:preview],
            payload_truncated=len(row.payload) > preview,
        )
        for row in rows
    ]
    return Page(items=items, next_cursor=encode_cursor(rows[-1].id) if has_more else None)
