"""``edgewatch demo --source replay --recording DIR`` serves a recording made by the recorder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from replay_support import record, small_sim_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(
    process: subprocess.Popen[bytes],
    log: Path,
    url: str,
    ready: Callable[[httpx.Response], bool],
    timeout: float = 90.0,
) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, output(log)
        try:
            response = httpx.get(url, timeout=5)
            if ready(response):
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    raise AssertionError(f"{url} not ready in {timeout}s:\n{output(log)}")


def output(log: Path) -> str:
    """The tail of the demo's output (a file: an unread pipe would block the demo once full)."""
    return log.read_bytes()[-4000:].decode(errors="replace") if log.exists() else ""


def test_demo_replays_a_sim_recording_with_fresh_ticks(tmp_path: Path) -> None:
    # Recorded "months ago" on a fake clock: the replay moves it to now, so readiness (which
    # wants fresh data) passes.
    recording = tmp_path / "rec"
    record("sim", recording, small_sim_settings(), polls=3)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEWATCH_")}
    env.update(
        EDGEWATCH_PORT=str(port),
        EDGEWATCH_DATA_DIR=str(tmp_path / "data"),
        EDGEWATCH_INGEST_INTERVAL_SECONDS="1",
        EDGEWATCH_LOG_LEVEL="warning",
        EDGEWATCH_SECRETS_DIR="/nonexistent-edgewatch-secrets",
    )
    log = tmp_path / "demo-output.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "edgewatch",
                "demo",
                "--source",
                "replay",
                "--recording",
                str(recording),
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(process, log, base + "/health/ready", lambda r: r.status_code == 200)
        markets = wait_for(
            process,
            log,
            base + "/api/v1/markets?limit=500",
            lambda r: r.status_code == 200 and any(m["last_tick_at"] for m in r.json()["items"]),
        )
        market_id = next(m["id"] for m in markets.json()["items"] if m["last_tick_at"])
        ticks = wait_for(
            process,
            log,
            f"{base}/api/v1/markets/{market_id}/ticks",
            lambda r: r.status_code == 200 and bool(r.json()["items"]),
        )
        assert ticks.json()["items"][0]["bid"] is not None
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, output(log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_demo_refuses_a_directory_that_is_not_a_recording(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEWATCH_")}
    env.update(
        EDGEWATCH_PORT=str(free_port()),
        EDGEWATCH_DATA_DIR=str(tmp_path / "data"),
        EDGEWATCH_SECRETS_DIR="/nonexistent-edgewatch-secrets",
    )
    result = subprocess.run(
        [sys.executable, "-m", "edgewatch", "demo", "--recording", str(tmp_path)],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "EDGEWATCH_RECORDING_DIR" in lines[0] and "no manifest" in lines[0]
