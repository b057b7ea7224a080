"""``edgewatch venues ...`` commands and the ``edgewatch fees`` command.

``normalize`` prints one JSON line per normalised record on stdout and one JSON line per
quarantined record on stderr; it exits 0 even when records were rejected (that is the data, not
the command, failing) and 2 when the file cannot be read or holds no JSON. ``fees`` prints the
fee in dollars as a plain number. Every usage error is one ``edgewatch: ...`` line on stderr,
exit 2.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from edgewatch.clock import utcnow
from edgewatch.command import fail
from edgewatch.errors import EdgewatchError
from edgewatch.venues.fees import KALSHI_MAKER_RATE, KALSHI_TAKER_RATE, kalshi_fee, polymarket_fee
from edgewatch.venues.normalize import KINDS, VENUES, normalize_text, record_to_json

app = typer.Typer(
    help="Venue connectors: normalise saved venue payloads, compute venue fees.",
    no_args_is_help=True,
    add_completion=False,
)


def _choice(value: str, allowed: tuple[str, ...], option: str) -> str:
    if value not in allowed:
        fail(f"{option} must be one of {', '.join(allowed)}, got {value!r}")
    return value


@app.command("normalize")
def normalize_command(
    file: Annotated[Path, typer.Argument(help="Raw response body, or JSON lines for ws frames.")],
    venue: Annotated[str, typer.Option("--venue", help="kalshi or polymarket.")],
    kind: Annotated[str, typer.Option("--kind", help=f"One of: {', '.join(KINDS)}.")],
    market: Annotated[
        str | None,
        typer.Option("--market", help="Market id for bodies that do not name it (order book)."),
    ] = None,
    received_at: Annotated[
        str | None,
        typer.Option("--received-at", help="ISO time the body was received (default: now)."),
    ] = None,
) -> None:
    """Print the normalised records of a saved venue payload as JSON lines."""
    _choice(venue, VENUES, "--venue")
    _choice(kind, KINDS, "--kind")
    when = utcnow()
    if received_at is not None:
        try:
            when = datetime.fromisoformat(received_at.replace("Z", "+00:00"))
        except ValueError:
            fail(f"--received-at is not an ISO 8601 time: {received_at!r}")
        if when.tzinfo is None:
            fail("--received-at needs a time zone (for example 2026-01-12T22:08:00Z)")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {exc}")
    try:
        result = normalize_text(venue, kind, text, received_at=when, market_id=market)
    except EdgewatchError as exc:
        fail(f"{file}: {exc.message}")
    for record in result.records:
        typer.echo(json.dumps(record_to_json(record), ensure_ascii=False))
    for rejected in result.rejected:
        line = {
            "record": "rejected",
            "venue": rejected.venue,
            "kind": rejected.kind,
            "reason": rejected.reason,
            "payload": rejected.payload,
        }
        typer.echo(json.dumps(line, ensure_ascii=False), err=True)


def _number(value: str, option: str) -> Decimal:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        fail(f"{option} must be a number, got {value!r}")
    if not number.is_finite():
        fail(f"{option} must be a finite number, got {value!r}")
    return number


def fees_command(
    venue: Annotated[str, typer.Option("--venue", help="kalshi or polymarket.")],
    price: Annotated[str, typer.Option("--price", help="Contract price in dollars, 0 to 1.")],
    contracts: Annotated[str, typer.Option("--contracts", help="Number of contracts.")],
    maker: Annotated[bool, typer.Option("--maker", help="Resting (maker) order.")] = False,
    multiplier: Annotated[
        str | None, typer.Option("--multiplier", help="Kalshi series fee multiplier (default 1).")
    ] = None,
    rate: Annotated[
        str | None, typer.Option("--rate", help="Polymarket market fee rate (feeSchedule.rate).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the details as JSON.")] = False,
) -> None:
    """Print a venue's fee in dollars for one order (Kalshi rounds up to the cent)."""
    _choice(venue, VENUES, "--venue")
    p = _number(price, "--price")
    c = _number(contracts, "--contracts")
    m = None if multiplier is None else _number(multiplier, "--multiplier")
    r = None if rate is None else _number(rate, "--rate")
    details: dict[str, object] = {
        "venue": venue,
        "price": str(p),
        "contracts": str(c),
        "role": "maker" if maker else "taker",
    }
    try:
        if venue == "kalshi":
            if r is not None:
                fail("--rate is for Polymarket; Kalshi's rates are fixed (use --multiplier)")
            m = Decimal(1) if m is None else m
            fee = kalshi_fee(p, c, maker=maker, multiplier=m)
            details |= {
                "multiplier": str(m),
                "rate": str(KALSHI_MAKER_RATE if maker else KALSHI_TAKER_RATE),
                "rounding": "up to the cent",
            }
        else:
            if m is not None:
                fail("--multiplier is for Kalshi; Polymarket fees come from --rate")
            if r is None:
                fail(
                    "Polymarket fees are set per market and are unknown without --rate "
                    "(the market's feeSchedule.rate); refusing to assume zero"
                )
            fee = polymarket_fee(p, c, rate=r, maker=maker)
            details |= {"rate": str(r), "rounding": "to 5 decimals"}
    except EdgewatchError as exc:
        fail(exc.message)
    if as_json:
        typer.echo(json.dumps(details | {"fee": format(fee, "f")}))
    else:
        typer.echo(format(fee, "f"))


app.command("fees")(fees_command)
