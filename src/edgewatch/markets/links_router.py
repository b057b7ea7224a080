"""``/api/v1/links``: cross-venue links, their review (confirm / reject) and why they were proposed.

Who reviews: ``ReviewerDep`` is the signed-in user's pseudonym (``user:…``), written to the audit
log and ``reviewed_by`` — never their email, so erasing the user leaves both intact. The
``links:review`` scope the review routes need is checked by the access table
(``accounts/access.py``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Path, Query

from edgewatch import data_versions
from edgewatch.accounts.principal import CurrentUserDep
from edgewatch.api import API_V1_PREFIX
from edgewatch.api.cache import cached
from edgewatch.api.deps import SessionDep, SettingsDep
from edgewatch.api.pagination import CursorParam, Page, decode_id_cursor, encode_cursor, split_page
from edgewatch.api.params import MAX_ID, text_filter
from edgewatch.api.problems import problem_responses
from edgewatch.api.routing import ApiRoute
from edgewatch.markets import links
from edgewatch.markets.links_schemas import LinkDetailOut, LinkOut, LinkStatus, RejectBody

router = APIRouter(route_class=ApiRoute, prefix=f"{API_V1_PREFIX}/links", tags=["links"])

LinkId = Annotated[int, Path(ge=1, le=MAX_ID, description="Edgewatch link id.")]


def current_reviewer(principal: CurrentUserDep) -> str:
    """The actor recorded for a review: the caller's pseudonym."""
    return principal.actor


ReviewerDep = Annotated[str, Depends(current_reviewer)]


@router.get(
    "",
    summary="List cross-venue links",
    responses=problem_responses(422),
    dependencies=[cached("links", reads=("markets",), ttl_seconds=300)],
)
def list_links(
    session: SessionDep,
    status: Annotated[LinkStatus | None, Query(description="Only this review state.")] = None,
    venue: Annotated[
        str | None, text_filter(max_length=32, description="Only links with a market here.")
    ] = None,
    min_confidence: Annotated[
        float | None, Query(ge=0, le=1, description="Only links at least this confident.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: CursorParam = None,
) -> Page[LinkOut]:
    """Links ordered by id, each with the title of the market on both ends."""
    rows, has_more = split_page(
        links.list_links(
            session,
            limit=limit + 1,
            status=status,
            venue=venue,
            min_confidence=min_confidence,
            after_id=decode_id_cursor(cursor),
        ),
        limit,
    )
    return Page(
        items=[LinkOut.from_row(row) for row in rows],
        next_cursor=encode_cursor(rows[-1].link.id) if has_more else None,
    )


@router.get(
    "/{link_id}",
    summary="Get one link with both markets side by side",
    responses=problem_responses(404, 422),
)
def get_link(session: SessionDep, link_id: LinkId) -> LinkDetailOut:
    return LinkDetailOut.from_detail(links.link_detail(session, link_id))


@router.post(
    "/{link_id}/confirm",
    summary="Confirm a link (it may then produce arbitrage signals)",
    responses=problem_responses(404, 422),
)
def confirm_link(
    session: SessionDep,
    settings: SettingsDep,
    reviewer: ReviewerDep,
    link_id: LinkId,
    after_commit: BackgroundTasks,
) -> LinkDetailOut:
    """Mark the link confirmed and audit it; confirming a confirmed link changes nothing."""
    links.confirm(session, link_id, reviewer=reviewer)
    # A market's cached detail lists its links; background tasks run after the commit.
    after_commit.add_task(data_versions.bump, settings, ("markets",))
    return LinkDetailOut.from_detail(links.link_detail(session, link_id))


@router.post(
    "/{link_id}/reject",
    summary="Reject a link, with an optional reason",
    responses=problem_responses(404, 422),
)
def reject_link(
    session: SessionDep,
    settings: SettingsDep,
    reviewer: ReviewerDep,
    link_id: LinkId,
    after_commit: BackgroundTasks,
    body: Annotated[RejectBody | None, Body()] = None,
) -> LinkDetailOut:
    """Mark the link rejected and audit it with the reason; the matcher never re-proposes it."""
    links.reject(session, link_id, reviewer=reviewer, reason=body.reason if body else None)
    after_commit.add_task(data_versions.bump, settings, ("markets",))
    return LinkDetailOut.from_detail(links.link_detail(session, link_id))
