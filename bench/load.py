"""API load benchmark: a realistic, authenticated mix of reads against PostgreSQL + Redis.

Seeds ``EDGEWATCH_LOAD_TICKS`` ticks (default 10 million) into a throwaway PostgreSQL (or the one
in ``EDGEWATCH_DATABASE_URL``), starts a private Redis and ``edgewatch serve`` with one worker
process per core (``EDGEWATCH_API_WORKERS`` overrides; "server CPU" is all of them together, in
units of one core), then drives the API open-loop with ``openloop`` (requests are sent on schedule
whether or not earlier ones have answered, so a slow server shows up as latency instead of being
hidden by a polite client; latency counts from each request's scheduled start):

1. a steady 200 requests/s over the mix: p50/p95/p99 per route;
2. the same rate against ``/health`` only, the in-run baseline (the cost of HTTP + the framework);
3. a ramp of steady rates to find the highest one whose p95 stays under 100 ms with under 0.1 %
   errors and whose achieved rate is within 5 % of the target.

The load generator shares the machine with the server (two cores here), so the absolute figures
are a floor; it reports its own CPU per request too. The last two lines are
``api_p95_ms_at_200rps=<x>`` and ``api_max_rps_p95_under_100ms=<n>``.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
from sqlalchemy import select

from edgewatch.accounts import api_keys, users
from edgewatch.db.engine import create_db_engine
from edgewatch.db.scratch import free_port, throwaway_postgres
from edgewatch.db.session import make_session_factory, session_scope
from edgewatch.models import Market
from openloop import Results, drive
from seed import seed_database

STEADY_RPS = 200
STEADY_SECONDS = float(os.environ.get("EDGEWATCH_LOAD_SECONDS", "20"))
RAMP = (100, 200, 300, 400, 500, 650, 800, 1000, 1250, 1500)
RAMP_SECONDS = float(os.environ.get("EDGEWATCH_LOAD_RAMP_SECONDS", "10"))
P95_TARGET_MS = 100.0
MAX_IN_FLIGHT = 256
REQUEST_TIMEOUT_SECONDS = 10
MAX_ERROR_RATE = 0.001
#: API processes (``EDGEWATCH_API_WORKERS``); by default one per core, as docs/scaling.md advises.
API_WORKERS = int(os.environ.get("EDGEWATCH_API_WORKERS", str(os.cpu_count() or 1)))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _window(start: datetime) -> str:
    # Encoded: the "+00:00" of an ISO time would otherwise arrive as a space (and a 422).
    return urlencode({"from": start.isoformat(), "limit": 500})


def request_mix(market_ids: list[int], newest: datetime, rng: random.Random) -> tuple[str, str]:
    """One request of the mix: (route label, path). Weights follow what the dashboard reads."""
    market = rng.choice(market_ids)
    roll = rng.random()
    if roll < 0.20:
        return (
            "markets list",
            f"/api/v1/markets?limit=50&venue={rng.choice(['kalshi', 'polymarket'])}",
        )
    if roll < 0.35:
        return "market detail", f"/api/v1/markets/{market}"
    if roll < 0.55:
        start = newest - timedelta(hours=rng.choice([1, 2, 6]))
        return "ticks (short)", f"/api/v1/markets/{market}/ticks?{_window(start)}"
    if roll < 0.65:
        start = newest - timedelta(days=3)
        return (
            "ticks (3 days)",
            f"/api/v1/markets/{market}/ticks?{_window(start)}",
        )
    if roll < 0.85:
        return "signals", f"/api/v1/signals?limit=50&min_confidence={rng.choice([0, 0.5, 0.8])}"
    if roll < 0.92:
        return "links", "/api/v1/links?limit=50"
    return "pipelines", "/api/v1/pipelines"


@contextmanager
def private_redis() -> Iterator[str]:
    configured = os.environ.get("EDGEWATCH_REDIS_URL")
    if configured:
        yield configured
        return
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU the server and its worker processes have used so far (Linux /proc)."""
        return sum(_cpu_seconds(pid) for pid in _process_tree(self.pid))

    def settle(self, timeout: float = 300) -> None:
        """Wait until the server has worked off every request of the previous phase.

        Requests a client gave up on are still in the server's line; without this, one
        overloaded phase would slow down the next.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                text = httpx.get(f"{self.url}/metrics", timeout=30).text
            except httpx.HTTPError:
                continue
            if _gauge(text, "edgewatch_http_requests_queued") == 0 and (
                _gauge(text, "edgewatch_http_requests_in_flight") <= 1  # this scrape
            ):
                return
            time.sleep(0.5)
        raise SystemExit("the API did not work off its backlog in time")


def _process_tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(grandchild for child in children for grandchild in _process_tree(int(child)))]


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:  # gone since it was listed
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _gauge(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise SystemExit(f"{name} is not exported")


@contextmanager
def api_server(database_url: str, redis_url: str) -> Iterator[Server]:
    port = free_port()
    env = {
        **os.environ,
        "EDGEWATCH_DATABASE_URL": database_url,
        "EDGEWATCH_REDIS_URL": redis_url,
        "EDGEWATCH_PORT": str(port),
        "EDGEWATCH_LOG_LEVEL": "warning",
        "EDGEWATCH_RATE_LIMIT_PER_MINUTE": "1000000",
        "EDGEWATCH_SECRET_KEY": "load-benchmark-secret-key",
        "EDGEWATCH_API_WORKERS": str(API_WORKERS),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "edgewatch", "serve"], env=env, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the API did not become ready")
            time.sleep(0.5)
        yield Server(url=url, pid=process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def admin_key(database_url: str) -> tuple[str, list[int]]:
    engine = create_db_engine(database_url)
    now = datetime.now(UTC)
    with session_scope(make_session_factory(engine)) as session:
        user = users.create(session, email="load@bench.local", role="admin", actor="bench", now=now)
        _, secret = api_keys.create(
            session, user, name="load benchmark", scopes=["read"], expires_at=None, now=now
        )
        market_ids = list(session.scalars(select(Market.id)))
    engine.dispose()
    return secret, market_ids


def report(title: str, results: Results, usage: Usage) -> None:
    print(
        f"\n{title}: {results.sent:,} requests in {results.elapsed:.1f} s "
        f"({results.sent / results.elapsed:,.0f}/s), {results.errors} errors, {usage}; "
        f"per request: server {usage.server * results.elapsed / results.sent * 1000:.1f} ms, "
        f"generator {results.client_cpu / results.sent * 1000:.2f} ms of CPU"
    )
    print(f"  {'route':<16} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for route, values in sorted(results.latencies.items()):
        print(
            f"  {route:<16} {len(values):>6} {statistics.median(values):>8.1f} "
            f"{percentile(values, 0.95):>8.1f} {percentile(values, 0.99):>8.1f}"
        )


@dataclass(frozen=True)
class Usage:
    """CPU used during a phase, in units of one core: the API's processes, and the whole machine
    (API, PostgreSQL, Redis and this generator) out of ``os.cpu_count()`` cores."""

    server: float
    machine: float

    def __str__(self) -> str:
        return f"server CPU {self.server:.0%}, machine {self.machine:.0%} of {os.cpu_count()} cores"


def _machine_busy_seconds() -> float:
    """CPU seconds all cores have spent not idle since boot (Linux /proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def phase(
    server: Server,
    key: str,
    rate: float,
    seconds: float,
    pick: Callable[[], tuple[str, str]],
) -> tuple[Results, Usage]:
    """One steady phase from a settled server: its results and the CPU it took."""
    server.settle()
    server_before, machine_before = server.cpu_seconds(), _machine_busy_seconds()
    results = drive(
        server.url,
        {"X-API-Key": key},
        rate,
        seconds,
        pick,
        max_in_flight=MAX_IN_FLIGHT,
        timeout=REQUEST_TIMEOUT_SECONDS,
    )
    usage = Usage(
        server=(server.cpu_seconds() - server_before) / results.elapsed,
        machine=(_machine_busy_seconds() - machine_before) / results.elapsed,
    )
    return results, usage


def run(database_url: str, ticks: int) -> None:
    newest = seed_database(database_url, ticks=ticks)
    key, market_ids = admin_key(database_url)
    rng = random.Random(17)
    with private_redis() as redis_url, api_server(database_url, redis_url) as server:
        print(f"API: edgewatch serve with {API_WORKERS} worker process(es)")
        mix = lambda: request_mix(market_ids, newest, rng)  # noqa: E731
        phase(server, key, 50, 5, mix)  # warm-up: connections, caches, plans
        steady, usage = phase(server, key, STEADY_RPS, STEADY_SECONDS, mix)
        report(f"mix at {STEADY_RPS} requests/s", steady, usage)
        health, usage = phase(
            server, key, STEADY_RPS, STEADY_SECONDS, lambda: ("health", "/health")
        )
        report(f"baseline: /health at {STEADY_RPS} requests/s", health, usage)
        best = 0
        for rate in RAMP:
            step, usage = phase(server, key, rate, RAMP_SECONDS, mix)
            p95 = percentile(step.all_ms(), 0.95)
            achieved = step.sent / step.elapsed
            ok = p95 < P95_TARGET_MS and step.errors / step.sent < MAX_ERROR_RATE
            ok = ok and achieved >= 0.95 * rate
            print(
                f"ramp {rate:>5}/s: achieved {achieved:,.0f}/s, p95 {p95:.1f} ms, "
                f"{step.errors} errors, {usage} -> {'ok' if ok else 'over'}"
            )
            if not ok:
                break
            best = rate
    steady_p95 = percentile(steady.all_ms(), 0.95)
    baseline_p95 = percentile(health.all_ms(), 0.95)
    print(f"\nmix p95 / /health p95 at {STEADY_RPS}/s: {steady_p95 / baseline_p95:.2f}")
    print(f"api_p95_ms_at_200rps={steady_p95:.1f}")
    print(f"api_max_rps_p95_under_100ms={best}")


def main() -> None:
    ticks = int(os.environ.get("EDGEWATCH_LOAD_TICKS", "10000000"))
    configured = os.environ.get("EDGEWATCH_DATABASE_URL")
    if configured:
        run(configured, ticks)
        return
    with throwaway_postgres(settings={"shared_buffers": "1GB"}) as cluster:
        run(cluster.admin_url, ticks)


if __name__ == "__main__":
    main()
