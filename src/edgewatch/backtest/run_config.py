"""What a stored backtest run needs to be replayed exactly, besides its data: the engine
configuration as stored JSON (``config_to_json``/``config_from_json``, which also read the JSON a
user sends) and the version of the code that ran it (``code_version``).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from edgewatch.backtest.fills import ZERO, FillConfig
from edgewatch.backtest.records import BacktestConfig
from edgewatch.errors import InvalidInput

#: Called with the share of the simulated window replayed so far (0 to 1).
ProgressFn = Callable[[float], None]


# --- configuration -------------------------------------------------------------------------------


def config_to_json(config: BacktestConfig) -> dict[str, Any]:
    """The configuration as stored (the window is stored in its own columns)."""
    return {
        "starting_cash": str(config.starting_cash),
        "max_position": config.max_position,
        "step_seconds": config.step.total_seconds(),
        "lookback_seconds": config.lookback.total_seconds(),
        "slippage": str(config.fills.slippage),
        "latency_seconds": config.fills.latency.total_seconds(),
        "limit_to_displayed_size": config.fills.limit_to_displayed_size,
        "order_time": config.order_time,
        "min_confidence": config.min_confidence,
    }


def config_from_json(
    document: Mapping[str, Any] | None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> BacktestConfig:
    """A ``BacktestConfig`` from stored (or user-given) JSON; missing keys take the defaults.

    ``InvalidInput`` names the first bad key.
    """
    document = dict(document or {})
    known = set(config_to_json(BacktestConfig()))
    unknown = sorted(set(document) - known)
    if unknown:
        raise InvalidInput(
            f"unknown backtest setting(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}"
        )
    base = BacktestConfig()
    try:
        order_time = document.get("order_time", base.order_time)
        if order_time not in ("evaluation", "signal"):
            raise InvalidInput("order_time must be 'evaluation' or 'signal'")
        return BacktestConfig(
            starting_cash=_decimal(document, "starting_cash", base.starting_cash),
            max_position=int(document.get("max_position", base.max_position)),
            step=_seconds(document, "step_seconds", base.step),
            lookback=_seconds(document, "lookback_seconds", base.lookback),
            start=start,
            end=end,
            fills=FillConfig(
                slippage=_decimal(document, "slippage", base.fills.slippage),
                latency=_seconds(document, "latency_seconds", base.fills.latency),
                limit_to_displayed_size=bool(
                    document.get("limit_to_displayed_size", base.fills.limit_to_displayed_size)
                ),
            ),
            order_time=order_time,
            min_confidence=float(document.get("min_confidence", base.min_confidence)),
        )
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"invalid backtest settings: {exc}") from None


def _decimal(document: Mapping[str, Any], key: str, default: Decimal) -> Decimal:
    value = document.get(key)
    if value is None:
        return default
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{key} must be a number, got {value!r}") from None
    if not parsed.is_finite() or parsed < ZERO:
        raise InvalidInput(f"{key} must be a non-negative number, got {value!r}")
    return parsed


def _seconds(document: Mapping[str, Any], key: str, default: timedelta) -> timedelta:
    value = document.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{key} must be a number of seconds, got {value!r}")
    return timedelta(seconds=float(value))


# --- versions ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def code_version() -> str:
    """The package version, plus ``git describe`` of the source tree when there is one."""
    try:
        package = version("edgewatch")
    except PackageNotFoundError:  # pragma: no cover - the package is always installed
        package = "0.0.0"
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        described = ""
    return f"{package}+{described}"[:64] if described else package
