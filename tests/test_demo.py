"""The demo, as a user runs it: serves readiness and signals, and survives a restart intact."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from edgewatch.db.engine import create_db_engine
from edgewatch.models import Market, OddsTick, PipelineRun, Signal

pytestmark = pytest.mark.both_backends


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Demo:
    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # A file, never a pipe: nothing reads a pipe while the demo runs, so once ~64 KiB of
        # output filled it the demo's next log write blocked — the scheduler thread hung inside
        # the first generate-signals run (one warning per high-confidence signal) and no signal
        # was ever committed. A file also shows what the demo did when a wait fails. Both runs
        # append to the one file.
        with self.log.open("ab") as output:
            output.write(f"--- edgewatch demo started at {time.strftime('%X')}\n".encode())
            output.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "edgewatch", "demo"],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_for(self, path: str, ready: object, timeout: float = 180.0) -> httpx.Response:
        # Generous: on a loaded CI machine start-up and the first backfill take a minute or more.
        # One poll a second stays well inside the API's 100 requests/min rate limit.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.output()
            try:
                response = httpx.get(self.url + path, timeout=5)
                if ready(response):  # type: ignore[operator]
                    return response
            except httpx.TransportError:
                pass
            time.sleep(1.0)
        raise AssertionError(f"{path} not ready in {timeout}s:\n{self.output()}")

    def stop(self, how: signal.Signals) -> int:
        assert self.process is not None
        self.process.send_signal(how)
        return self.process.wait(timeout=60)

    def output(self) -> str:
        """The tail of the demo's output so far (both runs), for assertion messages."""
        try:
            tail = self.log.read_bytes()[-8000:].decode(errors="replace")
        except FileNotFoundError:
            tail = ""
        if self.process is None:
            state = "not started"
        elif self.process.poll() is None:
            state = "still running"
        else:
            state = f"exited with status {self.process.returncode}"
        return f"demo {state}; the end of its output ({self.log}):\n{tail}"


@pytest.fixture
def demo(db_url: str, backend: str, tmp_path: Path) -> Iterator[Demo]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEWATCH_")}
    env.update(
        EDGEWATCH_DATA_DIR=str(tmp_path / "demo-data"),
        EDGEWATCH_PORT=str(free_port()),
        EDGEWATCH_INGEST_INTERVAL_SECONDS="1",
        EDGEWATCH_INGEST_BACKFILL_MINUTES="20",
        EDGEWATCH_SIM_EVENTS="40",
        EDGEWATCH_SIM_STEP_SECONDS="1",
        # Info: a failed wait then shows each pipeline run (status, rows, duration) and request.
        EDGEWATCH_LOG_LEVEL="info",
    )
    if backend == "postgresql":
        env["EDGEWATCH_DATABASE_URL"] = db_url
    running = Demo(env, int(env["EDGEWATCH_PORT"]), tmp_path / "demo-output.log")
    yield running
    if running.process is not None and running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def snapshot(url: str) -> tuple[set[tuple[int, object]], int, int]:
    engine = create_db_engine(url)
    with Session(engine) as session:
        ticks = set(session.execute(select(OddsTick.market_id, OddsTick.tick_ts)).tuples())
        signals = session.scalar(select(func.count()).select_from(Signal)) or 0
        markets = session.scalar(select(func.count()).select_from(Market)) or 0
        duplicates = session.scalar(
            text(
                "SELECT count(*) FROM (SELECT market_id, tick_ts FROM odds_ticks "
                "GROUP BY market_id, tick_ts HAVING count(*) > 1) AS d"
            )
        )
        assert duplicates == 0
    engine.dispose()
    return ticks, signals, markets


def ingest_runs(url: str) -> int:
    engine = create_db_engine(url)
    with Session(engine) as session:
        count = session.scalar(
            select(func.count())
            .select_from(PipelineRun)
            .where(PipelineRun.pipeline == "ingest-sim", PipelineRun.status == "succeeded")
        )
    engine.dispose()
    return count or 0


def test_demo_serves_signals_and_restarts_without_losing_or_duplicating_rows(
    demo: Demo, db_url: str, backend: str, tmp_path: Path
) -> None:
    database = db_url if backend == "postgresql" else None
    demo.start()
    demo.wait_for("/health/ready", lambda r: r.status_code == 200)
    signals = demo.wait_for("/api/v1/signals", lambda r: r.status_code == 200 and r.json()["items"])
    assert signals.json()["items"][0]["strategy"] == "cross_venue_arbitrage"
    assert (
        demo.wait_for("/", lambda r: r.status_code == 200)
        .headers["content-type"]
        .startswith("text/html")
    )
    assert demo.stop(signal.SIGINT) == 0

    url = database or f"sqlite:///{tmp_path / 'demo-data' / 'edgewatch.sqlite3'}"
    ticks_before, signals_before, markets_before = snapshot(url)
    assert ticks_before and signals_before and markets_before

    demo.start()
    demo.wait_for("/health/ready", lambda r: r.status_code == 200)
    runs_before = ingest_runs(url)
    deadline = time.monotonic() + 60
    while ingest_runs(url) <= runs_before:  # one full ingest after the restart
        assert time.monotonic() < deadline, demo.output()
        time.sleep(0.5)
    assert demo.stop(signal.SIGTERM) == 0

    ticks_after, signals_after, markets_after = snapshot(url)
    assert ticks_before <= ticks_after
    assert len(ticks_after) > len(ticks_before)
    assert signals_after >= signals_before
    assert markets_after >= markets_before
