"""The one metrics registry. Every metric Edgewatch exports is defined here:

- ``edgewatch_http_requests_total{method,route,status}`` — API requests served.
- ``edgewatch_http_request_duration_seconds{method,route}`` — API latency.
- ``edgewatch_pipeline_runs_total{pipeline,status}`` — pipeline runs by outcome.
- ``edgewatch_pipeline_run_duration_seconds{pipeline}`` — pipeline run time.
- ``edgewatch_ticks_ingested_total{venue}`` — ticks newly stored.
- ``edgewatch_venue_records_rejected_total{venue,reason}`` — quarantined venue records.
- ``edgewatch_signals_generated_total{strategy}`` — signals written.
- ``edgewatch_data_age_seconds{venue}`` — age of the newest tick per venue (set by readiness).
- ``edgewatch_high_confidence_signals_total{strategy}`` — signals over the alert threshold.
- ``edgewatch_readiness_status{check}`` — 1 when a readiness check passes or warns, 0 if it fails.
- ``edgewatch_data_quality_issues{venue,kind}`` — data-quality findings over the last 24 hours.
- ``edgewatch_venue_request_duration_seconds{venue,endpoint}`` — venue API call latency.
- ``edgewatch_venue_request_errors_total{venue,reason}`` — failed venue API calls by reason.
- ``edgewatch_venue_circuit_open{venue}`` — 1 while a venue's circuit breaker is open or half-open.
- ``edgewatch_archive_size_bytes{kind}`` — bytes in the archive store, set by each retention run.
- ``edgewatch_db_query_duration_seconds{operation}`` — statement latency seen by the application.
- ``edgewatch_db_slow_queries_total`` — statements that took over a second.
- ``edgewatch_db_errors_total{kind}`` — database errors (``connection``, ``statement``).
- ``edgewatch_db_pool_connections{database,state}`` and
  ``edgewatch_table_size_bytes{database,table}`` — read at scrape time by the collector in
  ``db/instrumentation.py``.
- ``edgewatch_queue_depth{queue}`` — Celery tasks waiting in Redis, per queue.
- ``edgewatch_task_retries_total{task}`` — Celery tasks retried after a temporary error.
- ``edgewatch_rate_limited_total{route}`` — requests refused by the rate limiter (429).
- ``edgewatch_http_requests_in_flight``, ``edgewatch_http_requests_queued`` and
  ``edgewatch_http_requests_shed_total`` — admission control (``api/admission.py``).
- ``edgewatch_cache_requests_total{cache,result}`` — response-cache lookups (``hit``/``miss``).
- ``edgewatch_redis_errors_total{component}`` — Redis failures the API failed open on.
- ``edgewatch_logins_total{method}`` — successful sign-ins (``password``, ``sso:<provider>``).
- ``edgewatch_auth_failures_total{reason}`` — refused credentials and sign-ins, by reason.
- ``edgewatch_feature_computation_seconds{group}`` — time to compute features for signals.
- ``edgewatch_alert_notifications_total{channel,status}`` — alert notifications sent or failed.
- ``edgewatch_paper_orders_total{source,status}`` — paper orders placed and how they ended.
- ``edgewatch_paper_signals_declined_total{reason}`` — signals a paper policy did not trade.
- ``edgewatch_paper_kill_switch_trips_total`` — paper kill switches turned on by the loss limit.
- ``edgewatch_paper_equity_dollars{account}`` — a paper account's marked equity, per step.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)
#: Collectors that read their values at scrape time (pool use, table sizes): this process's own.
_SCRAPE_TIME: list[Collector] = []


def register_scrape_time(collector: Collector) -> None:
    REGISTRY.register(collector)
    _SCRAPE_TIME.append(collector)


def exposition_registry() -> CollectorRegistry:
    """What ``/metrics`` exposes: ``REGISTRY``, or every process's values when there are several.

    With ``PROMETHEUS_MULTIPROC_DIR`` set (``edgewatch serve`` with ``EDGEWATCH_API_WORKERS`` > 1,
    or Celery's prefork workers) each process writes its values to files there; counters and
    histograms are summed, the admission gauges too (``livesum``), and the other gauges report the
    most recent value any process set. Scrape-time collectors answer for the scraped process.
    """
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    for collector in _SCRAPE_TIME:
        registry.register(collector)
    return registry


HTTP_REQUESTS = Counter(
    "edgewatch_http_requests_total",
    "API requests served.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "edgewatch_http_request_duration_seconds",
    "API request latency.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
PIPELINE_RUNS = Counter(
    "edgewatch_pipeline_runs_total",
    "Pipeline runs by outcome.",
    ["pipeline", "status"],
    registry=REGISTRY,
)
PIPELINE_DURATION = Histogram(
    "edgewatch_pipeline_run_duration_seconds",
    "Pipeline run duration.",
    ["pipeline"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
TICKS_INGESTED = Counter(
    "edgewatch_ticks_ingested_total", "Ticks newly stored.", ["venue"], registry=REGISTRY
)
RECORDS_REJECTED = Counter(
    "edgewatch_venue_records_rejected_total",
    "Venue records quarantined, by reason.",
    ["venue", "reason"],
    registry=REGISTRY,
)
SIGNALS_GENERATED = Counter(
    "edgewatch_signals_generated_total", "Signals written.", ["strategy"], registry=REGISTRY
)
DATA_AGE = Gauge(
    "edgewatch_data_age_seconds",
    "Age of the newest tick per venue.",
    ["venue"],
    multiprocess_mode="mostrecent",
    registry=REGISTRY,
)
HIGH_CONFIDENCE_SIGNALS = Counter(
    "edgewatch_high_confidence_signals_total",
    "Signals at or above the high-confidence threshold (alert events).",
    ["strategy"],
    registry=REGISTRY,
)
READINESS = Gauge(
    "edgewatch_readiness_status",
    "1 when the named readiness check passes or warns, 0 when it fails.",
    ["check"],
    multiprocess_mode="mostrecent",
    registry=REGISTRY,
)
LOGINS = Counter(
    "edgewatch_logins_total",
    "Successful sign-ins, by method (password or sso:<provider>).",
    ["method"],
    registry=REGISTRY,
)
AUTH_FAILURES = Counter(
    "edgewatch_auth_failures_total",
    "Refused credentials and sign-ins, by reason.",
    ["reason"],
    registry=REGISTRY,
)
FEATURE_COMPUTATION = Histogram(
    "edgewatch_feature_computation_seconds",
    "Time to compute one batch of features for signal generation, by feature group.",
    ["group"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
    registry=REGISTRY,
)
ALERT_NOTIFICATIONS = Counter(
    "edgewatch_alert_notifications_total",
    "Alert notifications by channel and outcome (sent or failed).",
    ["channel", "status"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "edgewatch_rate_limited_total",
    "Requests refused by the rate limiter (429), by route template.",
    ["route"],
    registry=REGISTRY,
)
REQUESTS_IN_FLIGHT = Gauge(
    "edgewatch_http_requests_in_flight",
    "Requests being worked on by this API process (at most EDGEWATCH_MAX_CONCURRENT_REQUESTS).",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
REQUESTS_QUEUED = Gauge(
    "edgewatch_http_requests_queued",
    "Requests waiting for a free slot in this API process.",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
REQUESTS_SHED = Counter(
    "edgewatch_http_requests_shed_total",
    "Requests refused with a 503 after waiting EDGEWATCH_REQUEST_QUEUE_TIMEOUT_SECONDS in line.",
    registry=REGISTRY,
)
CACHE_REQUESTS = Counter(
    "edgewatch_cache_requests_total",
    "Response-cache lookups by cached route group and result (hit or miss).",
    ["cache", "result"],
    registry=REGISTRY,
)
REDIS_ERRORS = Counter(
    "edgewatch_redis_errors_total",
    "Redis failures the API carried on through (rate limits or cache skipped), by component.",
    ["component"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "edgewatch_queue_depth",
    "Celery tasks waiting in Redis, per queue (set on each read of the queue).",
    ["queue"],
    multiprocess_mode="mostrecent",
    registry=REGISTRY,
)
TASK_RETRIES = Counter(
    "edgewatch_task_retries_total",
    "Celery tasks retried after a temporary error, by task.",
    ["task"],
    registry=REGISTRY,
)
DB_QUERY_DURATION = Histogram(
    "edgewatch_db_query_duration_seconds",
    "Database statement latency seen by the application, by operation (select, insert, …).",
    ["operation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
    registry=REGISTRY,
)
DB_SLOW_QUERIES = Counter(
    "edgewatch_db_slow_queries_total",
    "Database statements that took over a second.",
    registry=REGISTRY,
)
DB_ERRORS = Counter(
    "edgewatch_db_errors_total",
    "Database errors by kind: connection (lost or refused) or statement.",
    ["kind"],
    registry=REGISTRY,
)
PAPER_ORDERS = Counter(
    "edgewatch_paper_orders_total",
    "Paper orders: status 'placed' when created, then the status each ended with.",
    ["source", "status"],
    registry=REGISTRY,
)
PAPER_SIGNALS_DECLINED = Counter(
    "edgewatch_paper_signals_declined_total",
    "Signals a paper account's policy declined (low confidence, no edge, kill switch on).",
    ["reason"],
    registry=REGISTRY,
)
PAPER_KILL_SWITCH_TRIPS = Counter(
    "edgewatch_paper_kill_switch_trips_total",
    "Paper account kill switches turned on by the daily loss limit.",
    registry=REGISTRY,
)
PAPER_EQUITY = Gauge(
    "edgewatch_paper_equity_dollars",
    "A paper account's equity (cash plus positions at the last mid), set at each step.",
    ["account"],
    multiprocess_mode="mostrecent",
    registry=REGISTRY,
)
VENUE_REQUEST_DURATION = Histogram(
    "edgewatch_venue_request_duration_seconds",
    "Venue API call latency (each attempt), by venue and endpoint template.",
    ["venue", "endpoint"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
VENUE_REQUEST_ERRORS = Counter(
    "edgewatch_venue_request_errors_total",
    "Failed venue API calls by reason (timeout, transport, http_429, http_5xx, circuit_open).",
    ["venue", "reason"],
    registry=REGISTRY,
)
VENUE_CIRCUIT_OPEN = Gauge(
    "edgewatch_venue_circuit_open",
    "1 while a venue's circuit breaker is open or half-open (calls refused), else 0.",
    ["venue"],
    multiprocess_mode="mostrecent",
    registry=REGISTRY,
)
DATA_QUALITY_ISSUES = Gauge(
    "edgewatch_data_quality_issues",
    "Data-quality findings whose episode ended in the last 24 hours, by venue and kind.",
    ["venue", "kind"],
    multiprocess_mode="mostrecent",
    registry=REGISTRY,
)
ARCHIVE_SIZE = Gauge(
    "edgewatch_archive_size_bytes",
    "Bytes held in the archive store per kind (ticks, backtests), set by each retention run.",
    ["kind"],
    multiprocess_mode="mostrecent",
    registry=REGISTRY,
)
