"""The API as real separate processes: ``uvicorn --factory`` on free ports, for tests about what
several processes share (rate limits in Redis) or that drive the app over real sockets from
another process (schemathesis). Settings go in as ``EDGEWATCH_*`` environment variables, exactly
as a deployment passes them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

#: Start-up imports the whole app; on a busy two-core machine that alone can take a minute.
STARTUP_TIMEOUT_SECONDS = 240.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _ApiProcess:
    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{_free_port()}"
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "edgewatch.api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            self.url.rsplit(":", 1)[1],
            # Edgewatch decides whom to believe about X-Forwarded-For (EDGEWATCH_TRUSTED_PROXIES).
            "--no-proxy-headers",
            "--log-level",
            "warning",
        ]
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, deadline: float) -> None:
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"API process exited at start-up:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"API process did not answer:\n{self.log_path.read_text()}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def api_processes(env: Mapping[str, str], *, count: int, log_dir: Path) -> Iterator[list[str]]:
    """Run ``count`` API processes (started together) until the block ends; yields their URLs."""
    processes: list[_ApiProcess] = []
    try:
        for index in range(count):
            processes.append(_ApiProcess(env, log_dir / f"api-{index}.log"))
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        for process in processes:
            process.wait_ready(deadline)
        yield [process.url for process in processes]
    finally:
        for process in processes:
            process.stop()
