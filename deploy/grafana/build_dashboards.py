"""Write the Grafana dashboards in deploy/grafana/dashboards/ from the definitions below.

    python deploy/grafana/build_dashboards.py          # rewrite the JSON files
    python deploy/grafana/build_dashboards.py --check  # exit 1 if a committed file is out of date

Panels are described once here (title, PromQL, unit) so that the JSON stays consistent: same
datasource uid, grid layout, legend and thresholds everywhere. Standard library only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DATASOURCE = {"type": "prometheus", "uid": "edgewatch-prometheus"}
OUT_DIR = Path(__file__).resolve().parent / "dashboards"
WIDTH = 24


def panel(
    title: str,
    targets: list[tuple[str, str]],
    *,
    unit: str = "short",
    kind: str = "timeseries",
    width: int = 12,
    height: int = 8,
    description: str = "",
    thresholds: list[tuple[float, str]] | None = None,
    base: str = "green",
) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": base, "value": None}]
    steps += [{"color": color, "value": value} for value, color in thresholds or []]
    defaults: dict[str, Any] = {
        "unit": unit,
        "thresholds": {"mode": "absolute", "steps": steps},
    }
    options: dict[str, Any]
    if kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": False,
            "thresholdsStyle": {"mode": "line" if thresholds else "off"},
        }
        options = {
            "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["mean", "max"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    else:
        defaults["color"] = {"mode": "thresholds"}
        options = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "textMode": "value_and_name",
        }
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"w": width, "h": height},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
        "targets": [
            {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": chr(65 + i)}
            for i, (expr, legend) in enumerate(targets)
        ],
    }


def row(title: str) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "gridPos": {"w": WIDTH, "h": 1}}


def layout(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Place panels left to right, wrapping at the grid width; rows start a new line."""
    x = y = line_height = 0
    for pid, item in enumerate(panels, start=1):
        grid = item["gridPos"]
        if item["type"] == "row" or x + grid["w"] > WIDTH:
            y += line_height
            x = line_height = 0
        grid["x"], grid["y"] = x, y
        item["id"] = pid
        x += grid["w"]
        line_height = max(line_height, grid["h"])
        if item["type"] == "row":
            y += grid["h"]
            x = line_height = 0
    return panels


def dashboard(
    uid: str, title: str, panels: list[dict[str, Any]], tags: list[str]
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["edgewatch", *tags],
        "timezone": "utc",
        "editable": False,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": []},
        "annotations": {
            "list": [
                {
                    "name": "Alerts",
                    "datasource": DATASOURCE,
                    "enable": True,
                    "expr": 'ALERTS{alertstate="firing", alertname=~"Edgewatch.*"}',
                    "iconColor": "red",
                    "titleFormat": "{{alertname}}",
                    "textFormat": "{{severity}}",
                    "useValueForTime": False,
                    "step": "60s",
                }
            ]
        },
        "links": [],
        "panels": layout(panels),
    }


def service_overview() -> dict[str, Any]:
    five_xx = 'sum(rate(edgewatch_http_requests_total{status=~"5.."}[5m]))'
    all_requests = "sum(rate(edgewatch_http_requests_total[5m]))"
    return dashboard(
        "edgewatch-overview",
        "Edgewatch / Service overview",
        [
            row("API"),
            panel(
                "API up",
                [('sum(up{job="edgewatch-api"})', "api targets up")],
                kind="stat",
                width=4,
                height=4,
                base="red",
                thresholds=[(1, "green")],
            ),
            panel(
                "5xx error ratio (5m)",
                [(f"{five_xx} / {all_requests}", "5xx ratio")],
                kind="stat",
                unit="percentunit",
                width=4,
                height=4,
                thresholds=[(0.01, "orange"), (0.05, "red")],
            ),
            panel(
                "p95 latency (5m)",
                [
                    (
                        "histogram_quantile(0.95, sum by (le) "
                        "(rate(edgewatch_http_request_duration_seconds_bucket[5m])))",
                        "p95",
                    )
                ],
                kind="stat",
                unit="s",
                width=4,
                height=4,
                thresholds=[(0.5, "orange"), (1, "red")],
            ),
            panel(
                "Requests/s",
                [(all_requests, "requests/s")],
                kind="stat",
                unit="reqps",
                width=4,
                height=4,
            ),
            panel(
                "Data age, oldest venue",
                [("max(edgewatch_data_age_seconds)", "oldest")],
                kind="stat",
                unit="s",
                width=4,
                height=4,
                thresholds=[(3600, "orange"), (21600, "red")],
            ),
            panel(
                "Firing alerts",
                [('count(ALERTS{alertstate="firing", alertname=~"Edgewatch.*"}) or vector(0)', "")],
                kind="stat",
                width=4,
                height=4,
                thresholds=[(1, "red")],
            ),
            panel(
                "Requests/s by route and status",
                [
                    (
                        "sum by (route, status) (rate(edgewatch_http_requests_total[5m]))",
                        "{{route}} {{status}}",
                    )
                ],
                unit="reqps",
            ),
            panel(
                "5xx error ratio",
                [(f"{five_xx} / {all_requests}", "5xx ratio")],
                unit="percentunit",
                thresholds=[(0.05, "red")],
                description="Alert EdgewatchApiHighErrorRate fires above 5 % for 5 minutes.",
            ),
            panel(
                "Latency p50 / p95 / p99",
                [
                    (
                        f"histogram_quantile({q}, sum by (le) "
                        "(rate(edgewatch_http_request_duration_seconds_bucket[5m])))",
                        f"p{round(q * 100)}",
                    )
                    for q in (0.5, 0.95, 0.99)
                ],
                unit="s",
                thresholds=[(1, "red")],
                description="Alert EdgewatchApiHighLatency fires when p95 stays above 1 s.",
            ),
            panel(
                "p95 latency by route",
                [
                    (
                        "histogram_quantile(0.95, sum by (le, route) "
                        "(rate(edgewatch_http_request_duration_seconds_bucket[5m])))",
                        "{{route}}",
                    )
                ],
                unit="s",
            ),
            row("Pipelines"),
            panel(
                "Pipeline runs by outcome (1h)",
                [
                    (
                        "sum by (pipeline, status) (increase(edgewatch_pipeline_runs_total[1h]))",
                        "{{pipeline}} {{status}}",
                    )
                ],
                description="Alert EdgewatchPipelineFailures fires above 2 failures an hour.",
            ),
            panel(
                "Pipeline run duration p95",
                [
                    (
                        "histogram_quantile(0.95, sum by (le, pipeline) "
                        "(rate(edgewatch_pipeline_run_duration_seconds_bucket[15m])))",
                        "{{pipeline}}",
                    )
                ],
                unit="s",
            ),
            row("Ingest and data quality"),
            panel(
                "Ticks ingested/s by venue",
                [("sum by (venue) (rate(edgewatch_ticks_ingested_total[5m]))", "{{venue}}")],
                unit="ops",
            ),
            panel(
                "Records rejected/s by venue and reason",
                [
                    (
                        "sum by (venue, reason) (rate(edgewatch_venue_records_rejected_total[5m]))",
                        "{{venue}}: {{reason}}",
                    )
                ],
                unit="ops",
            ),
            panel(
                "Data age by venue",
                [("max by (venue) (edgewatch_data_age_seconds)", "{{venue}}")],
                unit="s",
                thresholds=[(21600, "red")],
                description="Alert EdgewatchDataStale fires above 6 hours.",
            ),
            panel(
                "Rejected share of records by venue (1h)",
                [
                    (
                        "sum by (venue) (increase(edgewatch_venue_records_rejected_total[1h])) / "
                        "(sum by (venue) (increase(edgewatch_venue_records_rejected_total[1h])) + "
                        "sum by (venue) (increase(edgewatch_ticks_ingested_total[1h])))",
                        "{{venue}}",
                    )
                ],
                unit="percentunit",
            ),
            row("Signals"),
            panel(
                "Signals generated per hour by strategy",
                [
                    (
                        "sum by (strategy) (increase(edgewatch_signals_generated_total[1h]))",
                        "{{strategy}}",
                    )
                ],
            ),
            panel(
                "High-confidence signals per hour by strategy",
                [
                    (
                        "sum by (strategy) (increase(edgewatch_high_confidence_signals_total[1h]))",
                        "{{strategy}}",
                    )
                ],
            ),
        ],
        ["api", "pipelines"],
    )


def database_and_host() -> dict[str, Any]:
    fs = 'fstype!~"tmpfs|overlay|squashfs"'
    return dashboard(
        "edgewatch-database-host",
        "Edgewatch / Database and host",
        [
            row("PostgreSQL"),
            panel(
                "PostgreSQL up",
                [("min(pg_up)", "pg_up")],
                kind="stat",
                width=6,
                height=4,
                base="red",
                thresholds=[(1, "green")],
            ),
            panel(
                "Connections used",
                [
                    (
                        "sum(pg_stat_activity_count) / max(pg_settings_max_connections)",
                        "of max_connections",
                    )
                ],
                kind="stat",
                unit="percentunit",
                width=6,
                height=4,
                thresholds=[(0.6, "orange"), (0.8, "red")],
            ),
            panel(
                "Deadlocks (24h)",
                [("sum(increase(pg_stat_database_deadlocks[24h]))", "deadlocks")],
                kind="stat",
                width=6,
                height=4,
                thresholds=[(1, "orange")],
            ),
            panel(
                "Longest active transaction",
                [('max(pg_stat_activity_max_tx_duration{state="active"})', "longest")],
                kind="stat",
                unit="s",
                width=6,
                height=4,
                thresholds=[(1, "orange"), (10, "red")],
            ),
            panel(
                "Connections by state",
                [
                    ("sum by (state) (pg_stat_activity_count)", "{{state}}"),
                    ("max(pg_settings_max_connections)", "max_connections"),
                ],
                description="Alert EdgewatchDatabaseConnectionsNearLimit fires above 80 %.",
            ),
            panel(
                "Longest transaction by state",
                [
                    (
                        "max by (state) (pg_stat_activity_max_tx_duration)",
                        "{{state}}",
                    )
                ],
                unit="s",
                thresholds=[(1, "red")],
                description="Alert EdgewatchSlowQueries: active transactions over 1 s for 2 min.",
            ),
            panel(
                "Transactions/s",
                [
                    (
                        'sum(rate(pg_stat_database_xact_commit{datname="edgewatch"}[5m]))',
                        "commits",
                    ),
                    (
                        'sum(rate(pg_stat_database_xact_rollback{datname="edgewatch"}[5m]))',
                        "rollbacks",
                    ),
                ],
                unit="ops",
            ),
            panel(
                "Deadlocks and conflicts (10m)",
                [
                    ("sum by (datname) (increase(pg_stat_database_deadlocks[10m]))", "{{datname}}"),
                ],
            ),
            row("Host"),
            panel(
                "CPU busy",
                [
                    (
                        '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))',
                        "{{instance}}",
                    )
                ],
                unit="percentunit",
                thresholds=[(0.9, "red")],
                description="Alert EdgewatchHighCpu fires above 90 % for 15 minutes.",
            ),
            panel(
                "Memory available",
                [
                    (
                        "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
                        "{{instance}}",
                    )
                ],
                unit="percentunit",
            ),
            panel(
                "Disk free",
                [
                    (
                        f"node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}}",
                        "{{instance}} {{mountpoint}}",
                    )
                ],
                unit="percentunit",
                thresholds=[(0.1, "red")],
                description="EdgewatchDiskAlmostFull under 10 %; EdgewatchDiskFillingUp predicts.",
            ),
            panel(
                "Disk free in 24 h at the 6 h trend",
                [
                    (
                        f"predict_linear(node_filesystem_avail_bytes{{{fs}}}[6h], 24 * 3600)",
                        "{{instance}} {{mountpoint}}",
                    )
                ],
                unit="bytes",
            ),
            row("Scrape targets"),
            panel(
                "Targets up",
                [("up", "{{job}} {{instance}}")],
                kind="stat",
                width=24,
                height=4,
                base="red",
                thresholds=[(1, "green")],
            ),
        ],
        ["database", "host"],
    )


DASHBOARDS = {
    "edgewatch-overview.json": service_overview,
    "edgewatch-database-host.json": database_and_host,
}


def render(build: Any) -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, build in DASHBOARDS.items():
        path = OUT_DIR / name
        text = render(build)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"out of date: {', '.join(stale)} (run python {Path(__file__).name})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
