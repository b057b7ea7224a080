"""``/links``: proposed cross-venue links side by side, and their review by an admin.

Each card shows both markets (title, rules, close date, latest prices) and the matcher's reasons,
recomputed now (``links.link_detail``, as the API's ``GET /links/{id}``). Confirm and reject go
through ``links.confirm`` / ``links.reject``, which audit the decision under the viewer's name.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from edgewatch.api.deps import SessionDep
from edgewatch.api.pagination import decode_id_cursor, encode_cursor, split_page
from edgewatch.api.params import MAX_ID
from edgewatch.dashboard import forms
from edgewatch.dashboard.routing import DashboardRoute, url_with
from edgewatch.dashboard.templating import render
from edgewatch.dashboard.viewer import viewer_of
from edgewatch.markets import links
from edgewatch.markets.repository import venue_names
from edgewatch.models.market import LINK_STATUSES

router = APIRouter(route_class=DashboardRoute)

PAGE_SIZE = 10
Text = Annotated[str | None, Query(max_length=300)]
LinkId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/links", summary="Dashboard: cross-venue links (HTML)", response_class=HTMLResponse)
def link_list(
    request: Request,
    session: SessionDep,
    status: Text = None,
    venue: Text = None,
    min_confidence: Text = None,
    cursor: Text = None,
) -> Response:
    # The review queue is what people come here for: proposed links unless they ask otherwise.
    chosen_status = "proposed" if status is None else status
    if chosen_status == "all":
        chosen_status = ""
    state = forms.choice(chosen_status, name="status", allowed=LINK_STATUSES)
    venues = venue_names(session)
    chosen_venue = forms.choice(venue, name="venue", allowed=venues) if venues else None
    confidence = forms.decimal_number(min_confidence, name="min_confidence", minimum=0, maximum=1)
    rows, has_more = split_page(
        links.list_links(
            session,
            limit=PAGE_SIZE + 1,
            status=state,
            venue=chosen_venue,
            min_confidence=confidence,
            after_id=decode_id_cursor(forms.text(cursor, name="cursor")),
        ),
        PAGE_SIZE,
    )
    details = [links.link_detail(session, row.link.id) for row in rows]
    return render(
        request,
        "links.html",
        {
            "details": details,
            "filters": {
                "status": state or "all",
                "venue": chosen_venue,
                "min_confidence": min_confidence or "",
            },
            "statuses": LINK_STATUSES,
            "venues": venues,
            "next_url": url_with(request, cursor=encode_cursor(rows[-1].link.id))
            if has_more
            else None,
            "first_url": url_with(request, cursor=None) if cursor else None,
        },
    )


@router.get("/links/{link_id}", summary="Dashboard: one link (HTML)", response_class=HTMLResponse)
def link_page(request: Request, session: SessionDep, link_id: LinkId) -> Response:
    return render(request, "link.html", {"detail": links.link_detail(session, link_id)})


def _back(request: Request, link_id: int, fallback: str | None) -> RedirectResponse:
    # Only a local path is followed back, so the form cannot be turned into an open redirect.
    target = (
        fallback
        if fallback and fallback.startswith("/") and not fallback.startswith("//")
        else None
    )
    return RedirectResponse(target or f"/links/{link_id}", status_code=303)


@router.post(
    "/links/{link_id}/confirm", summary="Dashboard: confirm a link", response_class=HTMLResponse
)
def confirm(
    request: Request,
    session: SessionDep,
    link_id: LinkId,
    back: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    viewer = viewer_of(request)
    viewer.require("links:review")
    links.confirm(session, link_id, reviewer=viewer.actor)
    return _back(request, link_id, back)


@router.post(
    "/links/{link_id}/reject", summary="Dashboard: reject a link", response_class=HTMLResponse
)
def reject(
    request: Request,
    session: SessionDep,
    link_id: LinkId,
    reason: Annotated[str | None, Form(max_length=1000)] = None,
    back: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    viewer = viewer_of(request)
    viewer.require("links:review")
    links.reject(
        session,
        link_id,
        reviewer=viewer.actor,
        reason=forms.text(reason, name="reason", max_length=1000),
    )
    return _back(request, link_id, back)
