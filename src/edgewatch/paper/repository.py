"""Queries of paper trading: accounts and their ledgers, new signals, and quotes as seen so far."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from edgewatch.backtest.fills import Quote, to_price
from edgewatch.models import Market, OddsTick, Signal
from edgewatch.models.paper import (
    PaperAccount,
    PaperEquity,
    PaperFill,
    PaperOrder,
    PaperPosition,
    PaperSettlement,
)
from edgewatch.strategies.base import ProposedSignal


def get_account(session: Session, account_id: int, *, lock: bool = False) -> PaperAccount | None:
    """The account; ``lock`` holds its row until the transaction ends (PostgreSQL)."""
    return session.get(PaperAccount, account_id, with_for_update=lock or None)


def list_accounts(
    session: Session, *, owner_id: int | None, every_owner: bool, limit: int, after_id: int | None
) -> list[PaperAccount]:
    """Accounts in id order; of ``owner_id`` only unless ``every_owner``."""
    query = select(PaperAccount).order_by(PaperAccount.id).limit(limit)
    if not every_owner:
        query = query.where(PaperAccount.owner_id == owner_id)
    if after_id is not None:
        query = query.where(PaperAccount.id > after_id)
    return list(session.scalars(query))


def all_account_ids(session: Session) -> list[int]:
    return list(session.scalars(select(PaperAccount.id).order_by(PaperAccount.id)))


def open_positions(session: Session, account_id: int) -> list[PaperPosition]:
    """Positions holding contracts, in the order they were opened."""
    return list(
        session.scalars(
            select(PaperPosition)
            .where(PaperPosition.account_id == account_id, PaperPosition.contracts != 0)
            .order_by(PaperPosition.opened_at, PaperPosition.market_id)
        )
    )


def positions_by_market(session: Session, account_id: int) -> dict[int, PaperPosition]:
    rows = session.scalars(select(PaperPosition).where(PaperPosition.account_id == account_id))
    return {row.market_id: row for row in rows}


def pending_orders(session: Session, account_id: int) -> list[PaperOrder]:
    return list(
        session.scalars(
            select(PaperOrder)
            .where(PaperOrder.account_id == account_id, PaperOrder.status == "pending")
            .order_by(PaperOrder.id)
        )
    )


def _page(query: Select[Any], column: Any, *, limit: int, after_id: int | None) -> Select[Any]:
    if after_id is not None:
        query = query.where(column > after_id)
    return query.order_by(column).limit(limit)


def list_positions(
    session: Session, account_id: int, *, include_closed: bool, limit: int, after_market: int | None
) -> list[PaperPosition]:
    query = select(PaperPosition).where(PaperPosition.account_id == account_id)
    if not include_closed:
        query = query.where(PaperPosition.contracts != 0)
    page = _page(query, PaperPosition.market_id, limit=limit, after_id=after_market)
    return list(session.scalars(page))


def list_orders(
    session: Session, account_id: int, *, status: str | None, limit: int, after_id: int | None
) -> list[PaperOrder]:
    query = select(PaperOrder).where(PaperOrder.account_id == account_id)
    if status is not None:
        query = query.where(PaperOrder.status == status)
    return list(session.scalars(_page(query, PaperOrder.id, limit=limit, after_id=after_id)))


def list_fills(
    session: Session, account_id: int, *, limit: int, after_id: int | None
) -> list[PaperFill]:
    query = select(PaperFill).where(PaperFill.account_id == account_id)
    return list(session.scalars(_page(query, PaperFill.id, limit=limit, after_id=after_id)))


def list_settlements(
    session: Session, account_id: int, *, limit: int, after_id: int | None
) -> list[PaperSettlement]:
    query = select(PaperSettlement).where(PaperSettlement.account_id == account_id)
    page = _page(query, PaperSettlement.id, limit=limit, after_id=after_id)
    return list(session.scalars(page))


def list_equity(
    session: Session, account_id: int, *, limit: int, after: datetime | None
) -> list[PaperEquity]:
    query = select(PaperEquity).where(PaperEquity.account_id == account_id)
    if after is not None:
        query = query.where(PaperEquity.ts > after)
    return list(session.scalars(query.order_by(PaperEquity.ts).limit(limit)))


def newest_signal_id(session: Session) -> int:
    return session.scalar(select(func.max(Signal.id))) or 0


def signal_window(session: Session, *, after_id: int, limit: int) -> int:
    """The last id of the next ``limit`` signals after ``after_id`` (``after_id`` if none)."""
    ids = select(Signal.id).where(Signal.id > after_id).order_by(Signal.id).limit(limit)
    return session.scalar(select(func.max(ids.subquery().c.id))) or after_id


def new_signals(
    session: Session, *, after_id: int, up_to_id: int, strategies: Collection[str] | None
) -> list[tuple[int, ProposedSignal]]:
    """Signals with ids in ``(after_id, up_to_id]`` of ``strategies`` (all if None), in id order,
    as the strategies proposed them."""
    query = select(Signal).where(Signal.id > after_id, Signal.id <= up_to_id).order_by(Signal.id)
    if strategies is not None:
        query = query.where(Signal.strategy.in_(list(strategies)))
    return [(row.id, as_proposed(row)) for row in session.scalars(query)]


def as_proposed(row: Signal) -> ProposedSignal:
    return ProposedSignal(
        signal_ts=row.signal_ts,
        market_id=row.market_id,
        side="yes" if row.side == "yes" else "no",
        limit_price=row.limit_price,
        size_hint=row.size_hint,
        edge=row.edge,
        confidence=row.confidence,
        expires_at=row.expires_at,
        dedupe_key=row.dedupe_key,
        paired_market_id=row.paired_market_id,
        inputs=dict(row.inputs or {}),
    )


def markets(session: Session, market_ids: Collection[int]) -> dict[int, Market]:
    if not market_ids:
        return {}
    rows = session.scalars(select(Market).where(Market.id.in_(sorted(market_ids))))
    return {row.id: row for row in rows}


def _quote(row: OddsTick) -> Quote:
    return Quote(
        market_id=row.market_id,
        ts=row.tick_ts,
        bid=row.bid,
        ask=row.ask,
        bid_size=row.bid_size,
        ask_size=row.ask_size,
    )


def latest_quote(session: Session, market_id: int, *, at: datetime) -> Quote | None:
    """The market's last quote at or before ``at``."""
    row = session.scalars(
        select(OddsTick)
        .where(OddsTick.market_id == market_id, OddsTick.tick_ts <= at)
        .order_by(OddsTick.tick_ts.desc())
        .limit(1)
    ).first()
    return None if row is None else _quote(row)


class StoredQuotes:
    """``engine.MarketData`` over the stored ticks: only ticks up to the time asked are read."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def first_quote(
        self, market_id: int, *, at_or_after: datetime, until: datetime
    ) -> Quote | None:
        if until < at_or_after:
            return None
        row = self.session.scalars(
            select(OddsTick)
            .where(
                OddsTick.market_id == market_id,
                OddsTick.tick_ts >= at_or_after,
                OddsTick.tick_ts <= until,
            )
            .order_by(OddsTick.tick_ts)
            .limit(1)
        ).first()
        return None if row is None else _quote(row)

    def last_mids(self, market_ids: Collection[int], *, at: datetime) -> Mapping[int, Decimal]:
        # As the backtest marks: the mid of the last quote, computed in floats, as an exact
        # 6-place decimal; a one-sided last quote has no mid.
        mids: dict[int, Decimal] = {}
        for market_id in market_ids:
            quote = latest_quote(self.session, market_id, at=at)
            if quote is not None and quote.mid is not None:
                mids[market_id] = to_price(quote.mid)
        return mids


def fills_of_orders(session: Session, order_ids: Sequence[int]) -> dict[int, PaperFill]:
    if not order_ids:
        return {}
    rows = session.scalars(select(PaperFill).where(PaperFill.order_id.in_(list(order_ids))))
    return {row.order_id: row for row in rows}
