"""Venue fee models, in exact decimal arithmetic.

Kalshi charges ``ceil_to_cent(M × rate × C × P × (1 − P))`` per order, with ``rate`` 0.07 for
takers and 0.0175 for makers and a per-series multiplier ``M`` (1 by default). Binary floats get
the rounding wrong (0.07·100·0.5·0.5 is 1.7500000000000002 in floats, which would round up to
$1.76; Kalshi's table says $1.75), hence ``Decimal`` throughout.

Polymarket charges takers ``C × rate × p × (1 − p)`` with the market's own ``feeSchedule`` rate,
rounded to 5 decimals; makers pay nothing.

A market whose fee terms are unknown raises ``FeeUnknown``: callers must fail closed (emit no
signal) rather than assume a zero fee.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from edgewatch.errors import FeeUnknown, InvalidInput

KALSHI_TAKER_RATE = Decimal("0.07")
KALSHI_MAKER_RATE = Decimal("0.0175")
CENT = Decimal("0.01")
POLYMARKET_QUANTUM = Decimal("0.00001")


def _decimal(value: Decimal | float | int | str, name: str) -> Decimal:
    # str() first so that 0.1 means 0.1, not 0.1000000000000000055511151231257827.
    result = value if isinstance(value, Decimal) else Decimal(str(value))
    if not result.is_finite():
        raise InvalidInput(f"{name} must be a finite number, got {value!r}")
    return result


def _check_trade(price: Decimal, contracts: Decimal) -> None:
    if not Decimal(0) <= price <= Decimal(1):
        raise InvalidInput(f"price must be a probability in [0, 1], got {price}")
    if contracts < 0:
        raise InvalidInput(f"contracts must not be negative, got {contracts}")


def kalshi_fee(
    price: Decimal | float | str,
    contracts: Decimal | float | int | str,
    *,
    maker: bool = False,
    multiplier: Decimal | float | str = Decimal(1),
) -> Decimal:
    """Kalshi's fee in dollars for ``contracts`` at ``price``, rounded up to the cent."""
    p = _decimal(price, "price")
    c = _decimal(contracts, "contracts")
    m = _decimal(multiplier, "multiplier")
    _check_trade(p, c)
    if m < 0:
        raise InvalidInput(f"multiplier must not be negative, got {m}")
    rate = KALSHI_MAKER_RATE if maker else KALSHI_TAKER_RATE
    raw = m * rate * c * p * (1 - p)
    return raw.quantize(CENT, rounding=ROUND_CEILING)


def polymarket_fee(
    price: Decimal | float | str,
    contracts: Decimal | float | int | str,
    *,
    rate: Decimal | float | str,
    maker: bool = False,
) -> Decimal:
    """Polymarket's taker fee in dollars (makers pay none), rounded to 5 decimals."""
    p = _decimal(price, "price")
    c = _decimal(contracts, "contracts")
    r = _decimal(rate, "rate")
    _check_trade(p, c)
    if r < 0:
        raise InvalidInput(f"rate must not be negative, got {r}")
    if maker:
        return Decimal("0.00000")
    return (c * r * p * (1 - p)).quantize(POLYMARKET_QUANTUM, rounding=ROUND_HALF_UP)


def market_fee(
    *,
    fee_schedule: str | None,
    fee_multiplier: Decimal | None,
    fee_rate: Decimal | None,
    price: Decimal | float,
    contracts: Decimal | float | int,
    maker: bool = False,
) -> Decimal:
    """The fee for trading a stored market, from its fee terms; ``FeeUnknown`` if it has none."""
    if fee_schedule == "kalshi":
        multiplier = Decimal(1) if fee_multiplier is None else fee_multiplier
        return kalshi_fee(price, contracts, maker=maker, multiplier=multiplier)
    if fee_schedule == "polymarket":
        if fee_rate is None:
            raise FeeUnknown("Polymarket market has no fee rate")
        return polymarket_fee(price, contracts, rate=fee_rate, maker=maker)
    raise FeeUnknown(f"no fee schedule known ({fee_schedule!r})")
