"""Market queries shared by the API and the dashboard. Every query is bounded by a limit.

The latest quote of a market is the tick at ``markets.last_tick_at`` (kept by ingest), fetched by
primary key, so listing markets never scans the tick table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Row,
    Select,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from edgewatch.models import Market, MarketLink, OddsTick
from edgewatch.models.candle import Candle


@dataclass(frozen=True, slots=True)
class MarketQuote:
    """A market with its latest tick (None when it has none yet)."""

    market: Market
    tick: OddsTick | None


@dataclass(frozen=True, slots=True)
class LinkedMarket:
    """A link seen from one market: the link itself and the market on its other end."""

    link: MarketLink
    other: Market


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so user text matches literally (use with ``escape="\\\\"``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


#: The latest tick of each market; outer-joined, a market without ticks gets NULLs.
_LATEST_TICK = and_(OddsTick.market_id == Market.id, OddsTick.tick_ts == Market.last_tick_at)
#: Links, most confident first.
_LINK_ORDER = (MarketLink.confidence.desc(), MarketLink.id)


def _with_latest_tick() -> Select[tuple[Market, OddsTick]]:
    return select(Market, OddsTick).outerjoin(OddsTick, _LATEST_TICK)


def _other_end(market_id: Any) -> ColumnElement[bool]:
    """Joins each link of ``market_id`` (on either side) to the market on its other end."""
    other = and_(MarketLink.market_a_id == market_id, Market.id == MarketLink.market_b_id)
    reverse = and_(MarketLink.market_b_id == market_id, Market.id == MarketLink.market_a_id)
    return or_(other, reverse)


def list_markets(
    session: Session,
    *,
    limit: int,
    venue: str | None = None,
    status: str | None = None,
    title_contains: str | None = None,
    after_id: int | None = None,
) -> list[MarketQuote]:
    """Markets ordered by id, starting after ``after_id``; ``title_contains`` ignores case."""
    stmt = _with_latest_tick()
    if venue is not None:
        stmt = stmt.where(Market.venue == venue)
    if status is not None:
        stmt = stmt.where(Market.status == status)
    if title_contains:
        stmt = stmt.where(Market.title.ilike(f"%{escape_like(title_contains)}%", escape="\\"))
    if after_id is not None:
        stmt = stmt.where(Market.id > after_id)
    rows = session.execute(stmt.order_by(Market.id).limit(limit)).all()
    return [MarketQuote(market=market, tick=tick) for market, tick in rows]


def get_market(session: Session, market_id: int) -> MarketQuote | None:
    row = session.execute(_with_latest_tick().where(Market.id == market_id)).first()
    if row is None:
        return None
    market, tick = row
    return MarketQuote(market=market, tick=tick)


def market_exists(session: Session, market_id: int) -> bool:
    return session.scalar(select(Market.id).where(Market.id == market_id)) is not None


def list_links(session: Session, market_id: int, *, limit: int = 100) -> list[LinkedMarket]:
    """Links on either side of ``market_id``, most confident first."""
    stmt = (
        select(MarketLink, Market)
        .join(Market, _other_end(market_id))
        .order_by(*_LINK_ORDER)
        .limit(limit)
    )
    return [LinkedMarket(link=link, other=market) for link, market in session.execute(stmt).all()]


# The API's market detail, as plain rows from statements built once, with the market id bound at
# execution: for a read of a row or two, building a statement (and computing the key SQLAlchemy
# caches its compiled form under) cost more than running it (docs/performance.md).
_MARKET_ID: BindParameter[int] = bindparam("market_id", type_=Integer)
_DETAIL = (
    select(
        Market.id,
        Market.venue,
        Market.venue_market_id,
        Market.title,
        Market.category,
        Market.status,
        Market.close_time,
        Market.resolution,
        OddsTick.bid,
        OddsTick.ask,
        OddsTick.last,
        Market.last_tick_at,
        Market.event_id,
        Market.rules,
        Market.resolved_at,
        Market.fee_schedule,
        Market.tick_size,
        Market.created_at,
        Market.updated_at,
    )
    .outerjoin(OddsTick, _LATEST_TICK)
    .where(Market.id == _MARKET_ID)
)
_DETAIL_LINKS = (
    select(
        MarketLink.id,
        Market.id.label("market_id"),
        Market.venue,
        Market.title,
        MarketLink.relation,
        MarketLink.confidence,
        MarketLink.status,
        MarketLink.source,
        MarketLink.reviewed_at,
    )
    .join(Market, _other_end(_MARKET_ID))
    .order_by(*_LINK_ORDER)
    .limit(100)
)


def market_detail(session: Session, market_id: int) -> tuple[Row[Any], list[Row[Any]]] | None:
    """A market with its latest quote, and its (up to 100) links seen from it; None if unknown.

    Rows named as ``MarketDetail`` and ``MarketLinkOut`` name their fields.
    """
    connection = session.connection()
    market = connection.execute(_DETAIL, {"market_id": market_id}).first()
    if market is None:
        return None
    return market, list(connection.execute(_DETAIL_LINKS, {"market_id": market_id}).all())


def list_ticks(
    session: Session,
    market_id: int,
    *,
    limit: int,
    start: datetime | None = None,
    end: datetime | None = None,
    after: datetime | None = None,
    descending: bool = False,
) -> list[Row[Any]]:
    """Ticks of one market in ``[start, end)``, resuming after ``after`` in the chosen order."""
    return _plain_rows(
        session,
        ticks_query(
            market_id, limit=limit, start=start, end=end, after=after, descending=descending
        ),
    )


def ticks_query(
    market_id: Any,
    *,
    limit: Any,
    start: Any = None,
    end: Any = None,
    after: Any = None,
    descending: bool = False,
) -> Select[Any]:
    """The select behind ``list_ticks``: the tick time first, then the prices.

    Every condition is on the ``(market_id, tick_ts)`` primary key, so the database walks that
    index for this market only. Values may be ``bindparam``s, as for ``candles_query``.
    """
    stmt = select(
        OddsTick.tick_ts,
        OddsTick.bid,
        OddsTick.ask,
        OddsTick.last,
        OddsTick.volume,
        OddsTick.bid_size,
        OddsTick.ask_size,
    ).where(OddsTick.market_id == market_id)
    window = _Window(start=start, end=end, after=after, descending=descending, limit=limit)
    return window.apply(stmt, OddsTick.tick_ts)


def newest_tick_by_venue(session: Session) -> dict[str, datetime]:
    """The newest ``last_tick_at`` of each venue that has any tick."""
    rows = session.execute(
        select(Market.venue, func.max(Market.last_tick_at))
        .where(Market.last_tick_at.is_not(None))
        .group_by(Market.venue)
    ).all()
    return {venue: newest for venue, newest in rows if newest is not None}


def venue_names(session: Session, *, limit: int = 50) -> list[str]:
    """The venues that have markets, in order (for filter menus)."""
    stmt = select(Market.venue).distinct().order_by(Market.venue).limit(limit)
    return list(session.scalars(stmt))


@dataclass(frozen=True, slots=True)
class LinkGap:
    """A link between two open markets and the gap between their latest mids.

    ``gap`` is A's mid minus B's mid on A's YES scale (``1 − mid`` for a complement link), in
    probability points; the mid is the bid/ask midpoint, or the last price when a side is missing.
    """

    link: MarketLink
    a: MarketQuote
    b: MarketQuote
    gap: float


def top_gaps(
    session: Session, *, limit: int, statuses: tuple[str, ...] = ("proposed", "confirmed")
) -> list[LinkGap]:
    """The links whose two open markets' latest quotes differ most, largest gap first.

    Each market's latest tick is one primary-key probe (``last_tick_at``); the cost grows with
    the number of links, never with tick history.
    """
    market_a, market_b = aliased(Market), aliased(Market)
    tick_a, tick_b = aliased(OddsTick), aliased(OddsTick)
    mid_a = func.coalesce((tick_a.bid + tick_a.ask) / 2, tick_a.last)
    mid_b = func.coalesce((tick_b.bid + tick_b.ask) / 2, tick_b.last)
    aligned_b = case((MarketLink.relation == "complement", 1 - mid_b), else_=mid_b)
    gap = (mid_a - aligned_b).label("gap")
    stmt = (
        select(MarketLink, market_a, tick_a, market_b, tick_b, gap)
        .join(market_a, market_a.id == MarketLink.market_a_id)
        .join(market_b, market_b.id == MarketLink.market_b_id)
        .join(
            tick_a,
            and_(tick_a.market_id == market_a.id, tick_a.tick_ts == market_a.last_tick_at),
        )
        .join(
            tick_b,
            and_(tick_b.market_id == market_b.id, tick_b.tick_ts == market_b.last_tick_at),
        )
        .where(MarketLink.status.in_(statuses))
        .where(market_a.status == "open", market_b.status == "open")
        .where(mid_a.is_not(None), mid_b.is_not(None))
        .order_by(func.abs(mid_a - aligned_b).desc(), MarketLink.id)
        .limit(limit)
    )
    return [
        LinkGap(
            link=link,
            a=MarketQuote(market=a, tick=ta),
            b=MarketQuote(market=b, tick=tb),
            gap=float(value),
        )
        for link, a, ta, b, tb, value in session.execute(stmt).tuples().all()
        if value is not None
    ]


def page_candles(
    session: Session,
    market_id: int,
    *,
    width_seconds: int,
    limit: int,
    start: datetime | None = None,
    end: datetime | None = None,
    after: datetime | None = None,
    descending: bool = False,
) -> list[Row[Any]]:
    """Candles of one market and width over ``[start, end)``, paged by time like ``list_ticks``.

    Plain rows, not ORM objects, like ``list_ticks``: a page is up to thousands of read-only
    candles.
    """
    return _plain_rows(
        session,
        candles_query(
            market_id,
            width_seconds=width_seconds,
            limit=limit,
            start=bucket_floor(start, width_seconds) if start is not None else None,
            end=end,
            after=after,
            descending=descending,
        ),
    )


def bucket_floor(start: datetime, width_seconds: int) -> datetime:
    """The start of the minute or hour candle holding ``start``."""
    floor = start.replace(second=0, microsecond=0)
    return floor.replace(minute=0) if width_seconds >= 3600 else floor


def candles_query(
    market_id: Any,
    *,
    width_seconds: Any,
    limit: Any,
    start: Any = None,
    end: Any = None,
    after: Any = None,
    descending: bool = False,
) -> Select[Any]:
    """The select behind ``page_candles``: the bucket's start first, then the candle.

    ``start`` is a bucket start (``bucket_floor``), so the candle holding the window's start is
    included. Every condition is on the ``(market_id, width_seconds, bucket_start)`` primary key.
    Values may be ``bindparam``s (``markets/series.py`` compiles the query once per shape).
    """
    stmt = select(
        Candle.bucket_start,
        Candle.open,
        Candle.high,
        Candle.low,
        Candle.close,
        Candle.bid,
        Candle.ask,
        Candle.volume,
        Candle.tick_count,
    ).where(Candle.market_id == market_id, Candle.width_seconds == width_seconds)
    window = _Window(start=start, end=end, after=after, descending=descending, limit=limit)
    return window.apply(stmt, Candle.bucket_start)


@dataclass(frozen=True)
class _Window:
    """``[start, end)`` of a time series, resumed after ``after`` in the chosen order, limited."""

    start: Any
    end: Any
    after: Any
    descending: bool
    limit: Any

    def apply(self, stmt: Select[Any], time: InstrumentedAttribute[datetime]) -> Select[Any]:
        if self.start is not None:
            stmt = stmt.where(time >= self.start)
        if self.end is not None:
            stmt = stmt.where(time < self.end)
        if self.after is not None:
            stmt = stmt.where(time < self.after if self.descending else time > self.after)
        return stmt.order_by(time.desc() if self.descending else time.asc()).limit(self.limit)


def _plain_rows(session: Session, stmt: Select[Any]) -> list[Row[Any]]:
    """Run a select of columns on the session's connection, skipping the ORM's result layer.

    For a page of hundreds of read-only rows the ORM's per-row bookkeeping cost more than the
    query; the rows are the same ``Row`` objects either way.
    """
    return list(session.connection().execute(stmt).all())
