"""Hand-made rows for the dashboard tests: two venues' markets, a link, ticks, a signal, runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from edgewatch.clock import utcnow
from edgewatch.models import Market, MarketLink, OddsTick, PipelineRun, Signal


@dataclass(frozen=True)
class Seeded:
    kalshi: Market
    polymarket: Market
    quiet: Market
    link: MarketLink
    signal: Signal
    now: datetime


def seed(session: Session) -> Seeded:
    now = utcnow()
    kalshi = Market(
        venue="kalshi",
        venue_market_id="KXRAIN-1",
        title="Will it rain in <Seattle> on Friday?",
        rules="Resolves YES if the airport reports any rain.",
        status="open",
        last_tick_at=now - timedelta(minutes=3),
    )
    polymarket = Market(
        venue="polymarket",
        venue_market_id="0xrain",
        title="Seattle rain on Friday?",
        status="open",
        last_tick_at=now - timedelta(minutes=3),
    )
    quiet = Market(venue="polymarket", venue_market_id="0xabc", title="Quiet market")
    session.add_all([kalshi, polymarket, quiet])
    session.flush()
    for step in range(10):
        at = now - timedelta(minutes=3) - timedelta(seconds=30 * (9 - step))
        session.add(
            OddsTick(
                market_id=kalshi.id,
                tick_ts=at,
                bid=0.62 if step == 9 else 0.60 + step / 1000,
                ask=0.64 if step == 9 else 0.65,
                last=0.62,
                volume=100.0 + 5 * step,
            )
        )
        # The complement market prices NO of the same question at about 0.30, so YES at 0.70.
        session.add(OddsTick(market_id=polymarket.id, tick_ts=at, bid=0.29, ask=0.31, last=0.30))
    link = MarketLink(
        market_a_id=kalshi.id,
        market_b_id=polymarket.id,
        relation="complement",
        confidence=0.7,
        status="proposed",
        source="matcher",
    )
    session.add(link)
    signal = Signal(
        market_id=kalshi.id,
        signal_ts=now - timedelta(minutes=4),
        strategy="cross_venue_arbitrage",
        strategy_version="1",
        side="no",
        limit_price=0.36,
        size_hint=5.0,
        edge=0.0125,
        confidence=0.87,
        expires_at=now + timedelta(minutes=3),
        inputs={"gap": 0.0612, "paired_side": "no"},
        dedupe_key="dash-1",
    )
    session.add(signal)
    session.add_all(
        [
            PipelineRun(
                pipeline="ingest",
                status="failed",
                started_at=now - timedelta(minutes=1),
                finished_at=now,
                rows_in=40,
                rows_stored=0,
                rows_rejected=2,
                error="kalshi answered 503",
            ),
            PipelineRun(
                pipeline="generate-signals",
                status="succeeded",
                started_at=now - timedelta(minutes=1),
                finished_at=now,
                rows_in=12,
                rows_stored=1,
            ),
        ]
    )
    session.commit()
    return Seeded(kalshi, polymarket, quiet, link, signal, now)
