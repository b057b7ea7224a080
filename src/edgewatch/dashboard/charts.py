"""Chart data for the browser: aligned columns that ``dashboard.js`` hands to uPlot as they are.

uPlot wants one shared x column and one y column per series, with ``null`` where a series has no
value at that x. Each builder here takes rows from a repository and returns a ``ChartSpec``; the
browser code knows nothing about markets or backtests, only how to draw a spec. Times are UTC
epoch seconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Style = Literal["line", "step", "points", "bars"]
#: Colours are names of CSS variables (``--chart-<name>``), so charts follow light and dark mode.
Colour = Literal["bid", "ask", "last", "other", "other2", "yes", "no", "volume", "equity", "loss"]


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: list[float | None]
    colour: Colour
    style: Style = "line"
    scale: str = "y"
    dash: bool = False


@dataclass(slots=True)
class ChartSpec:
    """What the browser draws: ``x`` is time (epoch seconds) unless ``time_axis`` is false."""

    x: list[float]
    series: list[Series]
    time_axis: bool = True
    x_label: str = ""
    #: Bounds per scale (``{"y": (0, 1)}``): the axis fits the data but never leaves them.
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: Axis captions per scale.
    units: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.x

    def as_json(self) -> dict[str, Any]:
        return {
            "x": self.x,
            "timeAxis": self.time_axis,
            "xLabel": self.x_label,
            "series": [
                {
                    "label": s.label,
                    "values": s.values,
                    "colour": s.colour,
                    "style": s.style,
                    "scale": s.scale,
                    "dash": s.dash,
                }
                for s in self.series
            ],
            "ranges": {name: list(bounds) for name, bounds in self.ranges.items()},
            "units": self.units,
        }


def epoch(value: datetime) -> float:
    return round(value.timestamp(), 3)


def _clean(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def align(
    columns: Mapping[str, Iterable[tuple[float, float | None]]],
) -> tuple[list[float], dict[str, list[float | None]]]:
    """One sorted x column for every (x, value) pair, and each column's values on it.

    When a column has two values at one x, the later one wins (ticks are unique per market and
    time, so this only merges markers that land on the same instant).
    """
    by_column: dict[str, dict[float, float | None]] = {}
    xs: set[float] = set()
    for name, points in columns.items():
        values: dict[float, float | None] = {}
        for at, value in points:
            values[at] = value
        by_column[name] = values
        xs.update(values)
    ordered = sorted(xs)
    return ordered, {
        name: [values.get(point) for point in ordered] for name, values in by_column.items()
    }


def _mid(bid: float | None, ask: float | None, last: float | None) -> float | None:
    if bid is not None and ask is not None:
        return (bid + ask) / 2
    return last


@dataclass(frozen=True, slots=True)
class Overlay:
    """Another venue's market on the same question, drawn as its mid on this market's YES scale.

    ``ticks`` holds that market's ticks, or its candles when the chart is drawn from candles.
    """

    label: str
    ticks: Sequence[Any]
    complement: bool


@dataclass(frozen=True, slots=True)
class Marker:
    """A signal to mark on the price chart at its limit price."""

    at: datetime
    side: str
    price: float


def market_chart(
    ticks: Sequence[Any], overlays: Sequence[Overlay], markers: Sequence[Marker]
) -> ChartSpec:
    """Bid, ask and last of one market, linked markets' mids, and signals as points.

    ``ticks`` rows carry ``tick_ts``, ``bid``, ``ask`` and ``last`` (``markets.repository
    .list_ticks`` rows). A complement market's mid is shown as ``1 − mid``, so both lines mean
    the probability of this market's YES.
    """
    columns: dict[str, list[tuple[float, float | None]]] = {
        "bid": [(epoch(t.tick_ts), _clean(t.bid)) for t in ticks],
        "ask": [(epoch(t.tick_ts), _clean(t.ask)) for t in ticks],
        "last": [(epoch(t.tick_ts), _clean(t.last)) for t in ticks],
    }
    for n, overlay in enumerate(overlays):
        points = []
        for t in overlay.ticks:
            mid = _mid(_clean(t.bid), _clean(t.ask), _clean(t.last))
            if mid is not None and overlay.complement:
                mid = 1.0 - mid
            points.append((epoch(t.tick_ts), mid))
        columns[f"overlay{n}"] = points
    return _price_spec(columns, overlays, markers, last_label="Last")


def _price_spec(
    columns: dict[str, list[tuple[float, float | None]]],
    overlays: Sequence[Overlay],
    markers: Sequence[Marker],
    *,
    last_label: str,
) -> ChartSpec:
    columns["yes"] = [(epoch(m.at), m.price) for m in markers if m.side == "yes"]
    columns["no"] = [(epoch(m.at), m.price) for m in markers if m.side == "no"]
    x, values = align(columns)
    series = [
        Series("Bid", values["bid"], "bid", "step"),
        Series("Ask", values["ask"], "ask", "step"),
        Series(last_label, values["last"], "last", "line", dash=True),
    ]
    overlay_colours: tuple[Colour, ...] = ("other", "other2")
    for n, overlay in enumerate(overlays):
        series.append(Series(overlay.label, values[f"overlay{n}"], overlay_colours[n % 2], "line"))
    series.append(Series("Signal: buy YES", values["yes"], "yes", "points"))
    series.append(Series("Signal: buy NO", values["no"], "no", "points"))
    return ChartSpec(x=x, series=series, ranges={"y": (0.0, 1.0)}, units={"y": "P(YES)"})


def volume_chart(rows: Sequence[Any], *, at: str = "tick_ts") -> ChartSpec:
    """Contracts traded between consecutive rows, as bars.

    Venues report cumulative volume, so the traded amount is the difference of successive
    values; a drop (a venue resetting its counter) counts as nothing traded rather than negative.
    """
    points: list[tuple[float, float | None]] = []
    previous: float | None = None
    for row in rows:
        volume = _clean(row.volume)
        if volume is None:
            continue
        if previous is not None:
            points.append((epoch(getattr(row, at)), max(volume - previous, 0.0)))
        previous = volume
    x, values = align({"volume": points})
    series = [Series("Traded", values["volume"], "volume", "bars")] if x else []
    return ChartSpec(x=x, series=series, units={"y": "contracts"})


def candle_chart(
    candles: Sequence[Any], overlays: Sequence[Overlay], markers: Sequence[Marker]
) -> ChartSpec:
    """Like ``market_chart`` from candles: each bucket's closing bid, ask and mid.

    Overlays hold candles too (``bucket_start``, ``close``); their close is already a mid.
    """
    columns: dict[str, list[tuple[float, float | None]]] = {
        "bid": [(epoch(c.bucket_start), _clean(c.bid)) for c in candles],
        "ask": [(epoch(c.bucket_start), _clean(c.ask)) for c in candles],
        "last": [(epoch(c.bucket_start), _clean(c.close)) for c in candles],
    }
    for n, overlay in enumerate(overlays):
        columns[f"overlay{n}"] = [
            (
                epoch(c.bucket_start),
                None if c.close is None else (1.0 - c.close if overlay.complement else c.close),
            )
            for c in overlay.ticks
        ]
    return _price_spec(columns, overlays, markers, last_label="Mid (close)")


def drawdowns(equity: Sequence[float]) -> list[float]:
    """Drawdown at each point as a share of the running peak (0 at a new high, −0.25 = 25 % off)."""
    out: list[float] = []
    peak = -math.inf
    for value in equity:
        peak = max(peak, value)
        out.append(value / peak - 1.0 if peak > 0 else 0.0)
    return out


def equity_chart(points: Sequence[Any]) -> tuple[ChartSpec, ChartSpec]:
    """The equity curve and its drawdown (rows with ``ts`` and ``equity``)."""
    x = [epoch(p.ts) for p in points]
    equity = [float(p.equity) for p in points]
    curve = ChartSpec(
        x=x, series=[Series("Equity", list[float | None](equity), "equity")], units={"y": "$"}
    )
    drawdown = ChartSpec(
        x=list(x),
        series=[Series("Drawdown", list[float | None](drawdowns(equity)), "loss", "line")],
        units={"y": "share of peak"},
    )
    return curve, drawdown


def compare_chart(runs: Sequence[tuple[str, Sequence[Any]]]) -> ChartSpec:
    """Equity curves of several runs on one axis of hours since each run's first point."""
    columns: dict[str, list[tuple[float, float | None]]] = {}
    for n, (_label, points) in enumerate(runs):
        if not points:
            columns[f"run{n}"] = []
            continue
        first = points[0].ts
        columns[f"run{n}"] = [
            (round((p.ts - first).total_seconds() / 3600, 4), float(p.equity)) for p in points
        ]
    x, values = align(columns)
    colours: tuple[Colour, ...] = ("equity", "other")
    series = [
        Series(label, values[f"run{n}"], colours[n % 2], "line")
        for n, (label, _) in enumerate(runs)
    ]
    return ChartSpec(
        x=x, series=series, time_axis=False, x_label="hours since start", units={"y": "$"}
    )


def calibration_chart(buckets: Sequence[Mapping[str, Any]]) -> ChartSpec:
    """Observed frequency of YES against mean predicted probability, per bucket, with the diagonal.

    Buckets without signals are left out; a perfectly calibrated strategy lies on the diagonal.
    """
    used = [
        (float(b["mean_probability"]), float(b["observed_frequency"]))
        for b in buckets
        if b.get("count")
        and b.get("mean_probability") is not None
        and b.get("observed_frequency") is not None
    ]
    if not used:
        return ChartSpec(x=[], series=[], time_axis=False)
    x, values = align(
        {"observed": used, "diagonal": [(0.0, 0.0), (1.0, 1.0), *((p, p) for p, _ in used)]}
    )
    return ChartSpec(
        x=x,
        series=[
            Series("Perfect calibration", values["diagonal"], "last", "line", dash=True),
            Series("Observed", values["observed"], "equity", "points"),
        ],
        time_axis=False,
        x_label="predicted P(YES)",
        ranges={"y": (0.0, 1.0), "x": (0.0, 1.0)},
        units={"y": "observed frequency"},
    )
