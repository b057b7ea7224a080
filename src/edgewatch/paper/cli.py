"""``edgewatch paper``: open paper accounts, place orders, flip the kill switch, step them.

Accounts made here belong to no user (``owner_id`` NULL) and act as ``cli:<login>`` in the audit
log. Errors the user can fix (unknown account or market, no quote, insufficient cash, kill switch
on, bad option) are one line on stderr and exit status 2.
"""

from __future__ import annotations

import getpass
import json
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from edgewatch.clock import utcnow
from edgewatch.command import command_session, one_line_errors
from edgewatch.config import load_settings
from edgewatch.errors import InvalidInput
from edgewatch.models.paper import PaperAccount, PaperOrder
from edgewatch.paper import repository, service
from edgewatch.paper.policy import Policy
from edgewatch.paper.schemas import AccountOut, FillOut, OrderOut, PositionOut, plain

app = typer.Typer(
    help="Paper trading: accounts, manual orders, kill switch, stepping.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

AccountArg = Annotated[int, typer.Argument(min=1, help="Paper account id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _viewer() -> service.Viewer:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return service.Viewer(user_id=None, system=True, actor=f"cli:{login}")


def _money(text: str, option: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"{option} must be a number, got {text!r}") from None
    if not value.is_finite():
        raise InvalidInput(f"{option} must be a finite number, got {text!r}")
    return value


def _account_document(session: Session, account: PaperAccount) -> AccountOut:
    return AccountOut.from_account(account, service.valuation(session, account, now=utcnow()))


def _print_account(summary: AccountOut) -> None:
    switch = summary.kill_switch
    state = f"ON ({switch.reason})" if switch.enabled else "off"
    out.print(
        f"paper account {summary.id} · {summary.name} · cash {summary.cash:.2f} · "
        f"equity {summary.equity:.2f} · P&L {summary.pnl:+.2f} "
        f"(realised {summary.realised_pnl:+.2f}, unrealised {summary.unrealised_pnl:+.2f}) · "
        f"fees {summary.fees_paid:.2f} · "
        f"kill switch {state}",
        highlight=False,
        markup=False,
    )


@app.command("create")
@one_line_errors
def create_command(
    name: Annotated[str, typer.Argument(help="A label for the account.")],
    balance: Annotated[str, typer.Option("--balance", help="Starting cash in dollars.")] = "10000",
    sizing: Annotated[
        str, typer.Option("--sizing", help="kelly (fractional Kelly) or signal (size hint).")
    ] = "kelly",
    kelly_fraction: Annotated[str, typer.Option("--kelly-fraction")] = "0.25",
    min_confidence: Annotated[float, typer.Option("--min-confidence", min=0, max=1)] = 0.5,
    max_market_exposure: Annotated[
        str, typer.Option("--max-market-exposure", help="Dollars at cost per market.")
    ] = "500",
    max_total_exposure: Annotated[
        str, typer.Option("--max-total-exposure", help="Dollars at cost, all markets.")
    ] = "5000",
    daily_loss_limit: Annotated[
        str, typer.Option("--daily-loss-limit", help="Dollars, or 'none' for no kill switch.")
    ] = "1000",
    max_position: Annotated[
        int, typer.Option("--max-position", min=1, max=service.MAX_POSITION)
    ] = 1000,
    slippage: Annotated[str, typer.Option("--slippage", help="Probability points.")] = "0.01",
    latency: Annotated[
        float,
        typer.Option("--latency", min=0, max=service.MAX_LATENCY.total_seconds(), help="Seconds."),
    ] = 2.0,
    strategies: Annotated[
        list[str] | None, typer.Option("--strategy", help="Trade only this strategy (repeat).")
    ] = None,
    manual_only: Annotated[
        bool, typer.Option("--manual-only", help="Trade no signals, only manual orders.")
    ] = False,
) -> None:
    """Open a paper account holding BALANCE in cash; it trades signals stored from now on."""
    if sizing not in ("kelly", "signal"):
        raise InvalidInput("--sizing must be 'kelly' or 'signal'")
    limit = (
        None
        if daily_loss_limit.strip().lower() == "none"
        else _money(daily_loss_limit, "--daily-loss-limit")
    )
    settings = service.AccountSettings(
        name=name,
        starting_balance=_money(balance, "--balance"),
        auto_trade=not manual_only,
        strategies=tuple(strategies) if strategies else None,
        policy=Policy(
            min_confidence=min_confidence,
            sizing="kelly" if sizing == "kelly" else "signal",
            kelly_fraction=_money(kelly_fraction, "--kelly-fraction"),
            max_market_exposure=_money(max_market_exposure, "--max-market-exposure"),
            max_total_exposure=_money(max_total_exposure, "--max-total-exposure"),
            daily_loss_limit=limit,
        ),
        max_position=max_position,
        slippage=_money(slippage, "--slippage"),
        latency=timedelta(seconds=latency),
    )
    viewer = _viewer()
    with command_session() as session:
        account = service.create_account(
            session, settings, owner_id=None, actor=viewer.actor, now=utcnow()
        )
        summary = _account_document(session, account)
    out.print(f"created paper account {summary.id}", highlight=False)
    _print_account(summary)


@app.command("list")
@one_line_errors
def list_command(
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100,
    as_json: JsonOption = False,
) -> None:
    """Every paper account with its cash, equity and P&L."""
    with command_session() as session:
        rows = service.list_accounts(session, viewer=_viewer(), limit=limit)
        summaries = [_account_document(session, row) for row in rows]
    if as_json:
        typer.echo(json.dumps([s.model_dump(mode="json") for s in summaries]))
        return
    table = Table("id", "name", "owner", "cash", "equity", "P&L", "fees", "kill switch")
    for s in summaries:
        table.add_row(
            str(s.id),
            s.name,
            "—" if s.owner_id is None else str(s.owner_id),
            f"{s.cash:.2f}",
            f"{s.equity:.2f}",
            f"{s.pnl:+.2f}",
            f"{s.fees_paid:.2f}",
            "ON" if s.kill_switch.enabled else "off",
        )
    out.print(table)
    out.print(f"{len(summaries)} paper account(s)", highlight=False)


@app.command("show")
@one_line_errors
def show_command(
    account_id: AccountArg,
    orders: Annotated[int, typer.Option("--orders", min=0, max=1000, help="Latest orders.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """One account: totals, open positions marked to the last mid, latest orders and fills."""
    with command_session() as session:
        account = service.get_account(session, account_id, viewer=_viewer())
        summary = _account_document(session, account)
        rows = repository.list_positions(
            session, account_id, include_closed=False, limit=10_000, after_market=None
        )
        mids = repository.StoredQuotes(session).last_mids([r.market_id for r in rows], at=utcnow())
        positions = [PositionOut.from_row(r, mids.get(r.market_id)) for r in rows]
        latest = _latest_orders(session, account_id, orders)
        fills = {
            order_id: FillOut.from_row(fill)
            for order_id, fill in repository.fills_of_orders(
                session, [o.id for o in latest]
            ).items()
        }
        order_docs = [OrderOut.from_row(o) for o in latest]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "account": summary.model_dump(mode="json"),
                    "positions": [p.model_dump(mode="json") for p in positions],
                    "orders": [o.model_dump(mode="json") for o in order_docs],
                }
            )
        )
        return
    _print_account(summary)
    table = Table("market", "side", "contracts", "avg price", "mark", "value", "unrealised")
    for p in positions:
        table.add_row(
            str(p.market_id),
            (p.side or "").upper(),
            str(p.contracts),
            _fmt(p.average_price),
            _fmt(p.mark_price),
            _fmt(p.value, 2),
            _fmt(p.unrealised_pnl, 2, signed=True),
        )
    out.print(table)
    table = Table(
        "order", "source", "market", "side", "filled", "status", "price", "fee", "filled at"
    )
    for o in order_docs:
        fill = fills.get(o.id)
        table.add_row(
            str(o.id),
            o.source,
            str(o.market_id),
            f"{o.action} {o.side.upper()}",
            f"{o.filled_quantity}/{o.quantity}",
            o.status + (f" ({o.reason})" if o.reason else ""),
            "—" if fill is None else plain(fill.price),
            "—" if fill is None else plain(fill.fee),
            "—" if fill is None else f"{fill.filled_at:%Y-%m-%d %H:%M:%S}",
        )
    out.print(table)


def _fmt(value: Decimal | None, places: int = 6, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:+.{places}f}" if signed else f"{value:.{places}f}"


def _latest_orders(session: Session, account_id: int, count: int) -> list[PaperOrder]:
    if count == 0:
        return []
    query = (
        select(PaperOrder)
        .where(PaperOrder.account_id == account_id)
        .order_by(PaperOrder.id.desc())
        .limit(count)
    )
    return list(reversed(list(session.scalars(query))))


@app.command("order")
@one_line_errors
def order_command(
    account_id: AccountArg,
    market: Annotated[int, typer.Option("--market", min=1, help="Market id.")],
    side: Annotated[str, typer.Option("--side", help="yes or no.")],
    quantity: Annotated[int, typer.Option("--quantity", "-q", min=1, help="Contracts.")],
    sell: Annotated[bool, typer.Option("--sell", help="Sell contracts held.")] = False,
    limit: Annotated[
        str | None, typer.Option("--limit", help="Worst price per contract, 0 to 1.")
    ] = None,
) -> None:
    """Place a manual order; it fills on the market's first quote after its arrival."""
    side_value = side.strip().lower()
    if side_value not in ("yes", "no"):
        raise InvalidInput("--side must be 'yes' or 'no'")
    limit_price = None if limit is None else _money(limit, "--limit")
    if limit_price is not None and not Decimal(0) <= limit_price <= Decimal(1):
        raise InvalidInput("--limit must be a price between 0 and 1")
    settings = load_settings()
    action: Literal["buy", "sell"] = "sell" if sell else "buy"
    with command_session() as session:
        row = service.place_order(
            session,
            account_id,
            viewer=_viewer(),
            market_id=market,
            side="yes" if side_value == "yes" else "no",
            action=action,
            quantity=quantity,
            limit_price=limit_price,
            now=utcnow(),
            max_quote_age=timedelta(seconds=settings.paper_max_quote_age_seconds),
            ttl=timedelta(seconds=settings.paper_order_ttl_seconds),
        )
        document = OrderOut.from_row(row)
    out.print(
        f"order {document.id}: {document.action} {document.quantity} {document.side.upper()} "
        f"of market {document.market_id} · {document.status} · fills on the first quote at or "
        f"after {document.arrives_at:%H:%M:%S} (edgewatch paper run, or the scheduler)",
        highlight=False,
        markup=False,
    )


@app.command("kill-switch")
@one_line_errors
def kill_switch_command(
    account_id: AccountArg,
    state: Annotated[str, typer.Argument(help="on or off.")],
) -> None:
    """Turn the kill switch on (cancels pending orders, stops trading) or off."""
    wanted = state.strip().lower()
    if wanted not in ("on", "off"):
        raise InvalidInput("the kill switch state must be 'on' or 'off'")
    with command_session() as session:
        account = service.set_kill_switch(
            session, account_id, viewer=_viewer(), enabled=wanted == "on", now=utcnow()
        )
        summary = _account_document(session, account)
    _print_account(summary)


@app.command("run")
@one_line_errors
def run_command(
    account: Annotated[
        int | None, typer.Option("--account", min=1, help="Only this account (default: all).")
    ] = None,
) -> None:
    """Step paper accounts to now: settle, fill pending orders, trade new signals."""
    totals: dict[str, Any] = {"orders": 0, "fills": 0, "settlements": 0, "tripped": 0}
    with command_session() as session:
        ids = [account] if account is not None else repository.all_account_ids(session)
        if account is not None:
            service.get_account(session, account, viewer=_viewer())
        now = utcnow()
        with Progress(
            TextColumn("stepping paper accounts"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("step", total=len(ids))
            for account_id in ids:
                summary = service.step_account(session, account_id, now=now, actor=_viewer().actor)
                totals["orders"] += summary.orders
                totals["fills"] += summary.fills
                totals["settlements"] += summary.settlements
                totals["tripped"] += summary.tripped
                bar.advance(task)
    out.print(
        f"stepped {len(ids)} paper account(s) to {now:%Y-%m-%d %H:%M:%S}Z: "
        f"{totals['orders']} order(s), {totals['fills']} fill(s), "
        f"{totals['settlements']} settlement(s), {totals['tripped']} kill switch(es) tripped",
        highlight=False,
    )
