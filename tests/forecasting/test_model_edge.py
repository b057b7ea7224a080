"""The model edge strategy trades where the model and the price disagree by more than fees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import polars as pl
import pytest

from edgewatch.errors import InvalidInput
from edgewatch.strategies.base import TICK_SCHEMA, MarketInfo, Strategy
from edgewatch.strategies.model_edge import ModelEdge

T0 = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)


class FixedModel:
    """P(YES) = a fixed number per market, once the market has ``warmup`` ticks."""

    name = "fixed"
    version = "3"
    feature_names = ("mid", "time_to_close")

    def __init__(self, by_market: dict[int, float]) -> None:
        self.by_market = by_market
        self.seen: list[str] = []

    def predict(self, features: pl.DataFrame) -> npt.NDArray[np.float64]:
        self.seen = features.columns
        assert features["time_to_close"].null_count() == 0  # close times were passed on
        return np.array([self.by_market[m] for m in features["market_id"]], dtype=np.float64)


def ticks(market_id: int, bid: float, ask: float, count: int = 5) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "market_id": [market_id] * count,
            "tick_ts": [T0 + timedelta(seconds=5 * i) for i in range(count)],
            "bid": [bid] * count,
            "ask": [ask] * count,
            "last": [bid] * count,
            "volume": [float(i) for i in range(count)],
            "bid_size": [500.0] * count,
            "ask_size": [500.0] * count,
        },
        schema=TICK_SCHEMA,
    )


def market(market_id: int) -> MarketInfo:
    return MarketInfo(
        market_id=market_id,
        venue="kalshi",
        fee_schedule="kalshi",
        fee_multiplier=Decimal(1),
        close_time=T0 + timedelta(hours=2),
    )


def test_signals_where_the_model_beats_the_price_after_fees() -> None:
    model = FixedModel({1: 0.60, 2: 0.30, 3: 0.51})
    frame = pl.concat([ticks(1, 0.48, 0.50), ticks(2, 0.40, 0.42), ticks(3, 0.49, 0.50)])
    strategy: Strategy = ModelEdge(model, margin=0.02, max_size=100.0)
    signals = strategy.evaluate(
        frame, markets={m: market(m) for m in (1, 2, 3)}, links=[], since=None
    )
    by_market = {s.market_id: s for s in signals}
    assert set(by_market) == {1, 2}  # market 3: 1¢ of edge is less than fee plus margin
    yes, no = by_market[1], by_market[2]
    assert (yes.side, yes.limit_price) == ("yes", 0.50)
    # 100 contracts at 0.50: Kalshi fee ceil(0.07 × 100 × 0.25) = $1.75, 1.75¢ per contract.
    assert yes.edge == pytest.approx(0.60 - 0.50 - 0.0175)
    assert (no.side, no.limit_price) == ("no", pytest.approx(0.60))
    assert no.edge == pytest.approx(0.40 - 0.30 - 0.0168)  # fee ceil(0.07·100·0.6·0.4) = $1.68
    assert yes.inputs["model"] == "fixed" and yes.inputs["model_version"] == "3"
    assert yes.inputs["fair_value"] == pytest.approx(0.60)
    assert strategy.version == "1/fixed/3"
    assert yes.dedupe_key.startswith("model_edge:1/fixed/3:1:yes:")
    assert signals == strategy.evaluate(
        frame, markets={m: market(m) for m in (1, 2, 3)}, links=[], since=None
    )


def test_no_signal_where_the_model_cannot_predict() -> None:
    model = FixedModel({1: float("nan")})
    signals = ModelEdge(model).evaluate(
        ticks(1, 0.2, 0.22), markets={1: market(1)}, links=[], since=None
    )
    assert signals == []


def test_an_opportunity_is_reported_once_across_runs() -> None:
    model = FixedModel({1: 0.7})
    frame = ticks(1, 0.48, 0.50, count=10)
    first = ModelEdge(model).evaluate(frame.head(5), markets={1: market(1)}, links=[], since=None)
    later = ModelEdge(model).evaluate(
        frame, markets={1: market(1)}, links=[], since=frame["tick_ts"][4]
    )
    assert len(first) == 1 and later == []


@pytest.mark.parametrize("field", ["margin", "max_spread", "ttl_seconds", "max_size"])
def test_parameters_must_be_positive(field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        ModelEdge(FixedModel({}), **{field: 0.0})
