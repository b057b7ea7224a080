"""``GET /api/v1/disclaimers``: what Edgewatch is not, and the risks of what it shows, in the API.

Clients that show Edgewatch data to people are expected to show these texts too; the dashboard
shows the same ones. ``version`` changes whenever a text changes, so a client can tell that the
user should see them again. Public: no credentials needed.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from edgewatch.api import API_V1_PREFIX
from edgewatch.api.routing import ApiRoute

DISCLAIMERS_VERSION = "2026-11-28"


class Disclaimer(BaseModel):
    id: str = Field(description="Stable identifier, e.g. `not-financial-advice`.")
    title: str
    text: str


class Disclaimers(BaseModel):
    version: str = Field(description="Changes whenever any text changes (a date, YYYY-MM-DD).")
    effective: date
    items: list[Disclaimer]


DISCLAIMERS = Disclaimers(
    version=DISCLAIMERS_VERSION,
    effective=date.fromisoformat(DISCLAIMERS_VERSION),
    items=[
        Disclaimer(
            id="not-financial-advice",
            title="Not financial advice",
            text=(
                "Edgewatch is not financial advice. It shows market data, model output and trading "
                "signals for research and information only; nothing it shows is investment, legal "
                "or tax advice, or a recommendation to buy or sell any contract. Decide for "
                "yourself, and consult a qualified adviser where appropriate."
            ),
        ),
        Disclaimer(
            id="past-performance",
            title="Past performance",
            text=(
                "Past performance is not indicative of future results. Backtests replay history "
                "with simplified fills and fees, and they cannot capture every cost, delay or "
                "market impact; paper trading is simulated. Signal scores describe how past "
                "signals fared, not how future ones will."
            ),
        ),
        Disclaimer(
            id="data-accuracy",
            title="Data can be wrong or late",
            text=(
                "Prices, quotes and market details come from third-party venues and may be "
                "delayed, incomplete or wrong. Cross-venue links between markets are matched "
                "automatically and can pair contracts whose terms differ; check each market's "
                "rules at its venue before relying on a link."
            ),
        ),
        Disclaimer(
            id="risk-disclosure",
            title="Risks of prediction markets",
            text=(
                "Trading event contracts can lose the entire amount paid. Fees, spreads and "
                "limited liquidity can turn an apparent edge into a loss, and thin markets may not "
                "let you enter or exit at the prices shown. Venues can change their rules, fees or "
                "resolution sources, halt trading, or resolve markets in ways you do not expect. "
                "Prediction markets are regulated differently across jurisdictions and may be "
                "unavailable or unlawful where you are; you are responsible for complying with the "
                "rules that apply to you and to each venue."
            ),
        ),
    ],
)

router = APIRouter(route_class=ApiRoute, prefix=API_V1_PREFIX, tags=["disclaimers"])


@router.get("/disclaimers", summary="Disclaimers and risk disclosure (public)")
def get_disclaimers(response: Response) -> Disclaimers:
    """The texts every client showing Edgewatch data should show, with their version."""
    response.headers["Cache-Control"] = "public, max-age=3600"
    return DISCLAIMERS
