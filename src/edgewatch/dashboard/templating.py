"""Jinja2 templates, their filters, and ``render``: the one way a dashboard page is answered.

``render`` adds what every page needs (who is looking, the navigation, the current time, whether
the request came from htmx) so page modules pass only their own data. Autoescaping is on: market
titles and rules come from venues and are never trusted as markup.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.responses import Response

from edgewatch.clock import utcnow
from edgewatch.dashboard.viewer import NAVIGATION, viewer_of

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
STATIC_DIR = Path(__file__).resolve().parent / "static"


def age(value: datetime | None, now: datetime) -> str:
    """A short human age (``42 s``, ``5 min``, ``3 h``, ``2 d``) or an em dash for never."""
    if value is None:
        return "—"
    seconds = max((now - value).total_seconds(), 0.0)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def _finite(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def price(value: object) -> str:
    """A probability price with three decimals (``0.615``), or an em dash."""
    number = _finite(value)
    return "—" if number is None else f"{number:.3f}"


def money(value: object, places: int = 2) -> str:
    """Dollars with a sign for losses (``-$12.50``); exact decimals are rounded only here."""
    if isinstance(value, str):
        try:
            value = Decimal(value)
        except ArithmeticError:
            return "—"
    number = _finite(value)
    if number is None:
        return "—"
    sign = "-" if number < 0 else ""
    return f"{sign}${abs(number):,.{places}f}"


def percent(value: object, places: int = 0) -> str:
    """A share in [0, 1] as a percentage (``0.87`` → ``87%``)."""
    number = _finite(value)
    return "—" if number is None else f"{number * 100:.{places}f}%"


def number(value: object, places: int = 3) -> str:
    result = _finite(value)
    return "—" if result is None else f"{result:,.{places}f}"


def utc(value: datetime | None) -> str:
    """``2026-11-28 11:48:03 UTC``: every time on the dashboard is shown in UTC."""
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def status_class(status: str | None) -> str:
    """The badge colour of a run or check status."""
    if status in ("ok", "succeeded", "confirmed", "resolved", "open", "fresh", "filled", "off"):
        return "ok"
    if status in ("fail", "failed", "rejected", "stale", "corrupt", "void", "on", "stopped"):
        return "fail"
    return "warn"


templates.env.filters.update(
    price=price, money=money, percent=percent, number=number, utc=utc, status_class=status_class
)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render template ``name`` with the page's ``context`` and the shared page context."""
    now = utcnow()
    viewer = viewer_of(request)
    shared: dict[str, Any] = {
        "now": now,
        "age": lambda value: age(value, now),
        # How long until a future time, in the same words as ``age``.
        "until": lambda value: age(now - (value - now), now),
        "viewer": viewer,
        "navigation": [item for item in NAVIGATION if viewer.may(item.scope)],
        "section": _section(request.url.path),
        "htmx": is_htmx(request),
        # Every POST form includes this: the access check refuses session posts without it.
        "csrf_input": Markup(
            f'<input type="hidden" name="csrf_token" value="{escape(viewer.csrf_token)}">'
            if viewer.csrf_token
            else ""
        ),
    }
    return templates.TemplateResponse(
        request,
        name,
        {**shared, **(context or {})},
        status_code=status_code,
        headers=dict(headers) if headers else None,
    )


def _section(path: str) -> str:
    first = path.strip("/").split("/", 1)[0]
    return first or "overview"
