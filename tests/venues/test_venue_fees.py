"""Venue fees against Kalshi's published fee table and Polymarket's rounding, through the
functions and through ``edgewatch fees``.

Kalshi's table (kalshi.com fee schedule) charges takers ``ceil(0.07 × C × P × (1 − P))`` dollars,
rounded up to the next cent; with P in whole cents that is ``ceil(7·C·P·(100 − P) / 10000)``
cents, which the tests compute with integers only, independently of the Decimal code.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from edgewatch.errors import FeeUnknown, InvalidInput
from edgewatch.venues.cli import app
from edgewatch.venues.fees import kalshi_fee, market_fee, polymarket_fee

runner = CliRunner()
CENTS = range(1, 100)


def table_cents(price_cents: int, contracts: int, *, rate_per_ten_thousand: int = 700) -> int:
    """Kalshi's table in integer arithmetic: ceil(rate × C × P × (100 − P) / 10^6) cents."""
    numerator = rate_per_ten_thousand * contracts * price_cents * (100 - price_cents)
    return -(-numerator // 1_000_000)


def dollars(cents: int) -> Decimal:
    return Decimal(cents) / 100


@pytest.mark.parametrize("contracts", [1, 100])
def test_kalshi_taker_fee_matches_the_published_table(contracts: int) -> None:
    for price in CENTS:
        expected = dollars(table_cents(price, contracts))
        assert kalshi_fee(Decimal(price) / 100, contracts) == expected, price


def test_published_spot_values() -> None:
    # Values printed in Kalshi's fee table.
    assert kalshi_fee("0.50", 100) == Decimal("1.75")
    assert kalshi_fee("0.50", 1) == Decimal("0.02")
    assert kalshi_fee("0.05", 100) == Decimal("0.34")
    assert kalshi_fee("0.25", 100) == Decimal("1.32")
    assert kalshi_fee(0.5, 100) == Decimal("1.75")  # a binary float would round up to 1.76


@pytest.mark.parametrize("contracts", [1, 100])
def test_kalshi_maker_fee_is_a_quarter_rate_rounded_up(contracts: int) -> None:
    for price in CENTS:
        expected = dollars(table_cents(price, contracts, rate_per_ten_thousand=175))
        assert kalshi_fee(Decimal(price) / 100, contracts, maker=True) == expected, price
    assert kalshi_fee("0.50", 100, maker=True) == Decimal("0.44")


def test_kalshi_multiplier_scales_before_rounding() -> None:
    assert kalshi_fee("0.50", 100, multiplier="0.5") == Decimal("0.88")  # 0.875 rounded up
    assert kalshi_fee("0.50", 100, multiplier=2) == Decimal("3.50")
    assert kalshi_fee("0.50", 100, multiplier=0) == Decimal("0.00")


def test_polymarket_fee_rounds_to_five_decimals_and_makers_pay_nothing() -> None:
    assert polymarket_fee("0.5", 100, rate="0.03") == Decimal("0.75000")
    assert polymarket_fee("0.01", 1, rate="0.03") == Decimal("0.00030")  # 0.000297
    assert polymarket_fee("0.5", 1, rate="0.0001") == Decimal("0.00003")  # 0.000025, half up
    assert polymarket_fee("0.5", 100, rate="0.03", maker=True) == Decimal(0)


def test_unknown_fee_terms_fail_closed() -> None:
    with pytest.raises(FeeUnknown):
        market_fee(
            fee_schedule="polymarket", fee_multiplier=None, fee_rate=None, price=0.5, contracts=1
        )
    with pytest.raises(FeeUnknown):
        market_fee(fee_schedule=None, fee_multiplier=None, fee_rate=None, price=0.5, contracts=1)


@given(
    price=st.decimals(min_value=0, max_value=1, places=4),
    contracts=st.integers(min_value=0, max_value=10_000),
)
def test_kalshi_fee_is_never_below_the_exact_charge_nor_a_cent_above(
    price: Decimal, contracts: int
) -> None:
    exact = Decimal("0.07") * contracts * price * (1 - price)
    fee = kalshi_fee(price, contracts)
    assert exact <= fee < exact + Decimal("0.01")


def test_bad_inputs_are_invalid_input() -> None:
    for call in (
        lambda: kalshi_fee("1.5", 1),
        lambda: kalshi_fee("0.5", -1),
        lambda: kalshi_fee("nan", 1),
        lambda: polymarket_fee("0.5", 1, rate="-0.1"),
    ):
        with pytest.raises(InvalidInput):
            call()


# --- the command -------------------------------------------------------------------------------


@pytest.mark.parametrize("contracts", [1, 100])
def test_fees_command_reproduces_the_kalshi_table(contracts: int) -> None:
    for price in CENTS:
        result = runner.invoke(
            app,
            [
                "fees",
                "--venue",
                "kalshi",
                "--price",
                f"0.{price:02d}",
                "--contracts",
                str(contracts),
            ],
        )
        assert result.exit_code == 0, result.output
        assert Decimal(result.stdout.strip()) == dollars(table_cents(price, contracts)), price


def test_fees_command_prints_a_plain_number() -> None:
    result = runner.invoke(
        app, ["fees", "--venue", "kalshi", "--price", "0.5", "--contracts", "100"]
    )
    assert result.stdout == "1.75\n"


def test_fees_command_json_details() -> None:
    result = runner.invoke(
        app,
        [
            "fees",
            "--venue",
            "kalshi",
            "--price",
            "0.5",
            "--contracts",
            "100",
            "--maker",
            "--multiplier",
            "1",
            "--json",
        ],
    )
    details = json.loads(result.stdout)
    assert details["fee"] == "0.44" and details["role"] == "maker" and details["rate"] == "0.0175"


def test_fees_command_polymarket_with_rate() -> None:
    result = runner.invoke(
        app,
        ["fees", "--venue", "polymarket", "--price", "0.5", "--contracts", "100", "--rate", "0.03"],
    )
    assert result.exit_code == 0 and result.stdout == "0.75000\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--venue", "polymarket", "--price", "0.5", "--contracts", "1"],
            "refusing to assume zero",
        ),
        (["--venue", "kalshi", "--price", "abc", "--contracts", "1"], "--price must be a number"),
        (["--venue", "kalshi", "--price", "0.5", "--contracts", "nan"], "finite"),
        (["--venue", "kalshi", "--price", "1.5", "--contracts", "1"], "in [0, 1]"),
        (["--venue", "kalshi", "--price", "0.5", "--contracts", "-3"], "negative"),
        (["--venue", "kraken", "--price", "0.5", "--contracts", "1"], "--venue must be one of"),
        (["--venue", "kalshi", "--price", "0.5", "--contracts", "1", "--rate", "0.1"], "--rate"),
    ],
)
def test_fees_command_errors_are_one_line_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["fees", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgewatch: ") and message in lines[0]
    assert "Traceback" not in result.output
