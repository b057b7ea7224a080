"""Throwaway PostgreSQL servers for benchmarks and tests that need a server of their own.

Some checks cannot share a server: a benchmark must not compete with anything, a replica needs a
primary configured for replication, a password-rotation test needs password authentication. This
starts a private cluster in a temporary directory on a free port and removes it afterwards.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from edgewatch.errors import ConfigError


def pg_bin() -> Path:
    """The newest installed PostgreSQL's binaries (Debian layout)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not found:
        raise ConfigError("PostgreSQL binaries not found under /usr/lib/postgresql")
    return found[-1]


def as_postgres() -> list[str]:
    """Prefix that runs a command as the ``postgres`` user when we are root."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class ScratchCluster:
    root: Path
    data_dir: Path
    port: int
    superuser_password: str | None
    settings: Mapping[str, str]

    @property
    def admin_url(self) -> str:
        auth = "postgres" + (f":{self.superuser_password}" if self.superuser_password else "")
        return f"postgresql://{auth}@127.0.0.1:{self.port}/postgres"

    def restart(self, mode: str = "immediate") -> None:
        """Restart the server; ``immediate`` is a crash as far as open connections can tell."""
        pg_ctl(self.data_dir, "-m", mode, "-l", str(self.root / "log"), "restart")

    def stop(self) -> None:
        stop_cluster(self.data_dir)

    def start(self) -> None:
        """Start again after ``stop``, on the same port with the same settings."""
        start_cluster(self.data_dir, self.port, self.root / "log", self.settings)

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL client binary (``pg_basebackup``, ``psql``…) as the server's user."""
        return subprocess.run(
            [*as_postgres(), str(pg_bin() / command[0]), *command[1:]],
            check=True,
            capture_output=True,
            text=True,
        )


def pg_ctl(data_dir: Path, *args: str, check: bool = True) -> None:
    """Run ``pg_ctl`` on ``data_dir``, waiting (up to a minute) for the change to complete."""
    subprocess.run(
        [*as_postgres(), str(pg_bin() / "pg_ctl"), "-D", str(data_dir), "-w", "-t", "60", *args],
        check=check,
        capture_output=True,
    )


def start_cluster(
    data_dir: Path, port: int, log_file: Path, settings: Mapping[str, str] | None = None
) -> None:
    """Start the cluster in ``data_dir`` listening on 127.0.0.1:``port`` and wait until ready."""
    options = [f"-p {port}", "-c listen_addresses=127.0.0.1", f"-k {data_dir.parent}"]
    options += [f"-c {name}={value}" for name, value in (settings or {}).items()]
    pg_ctl(data_dir, "-l", str(log_file), "start", "-o", " ".join(options))


def stop_cluster(data_dir: Path) -> None:
    pg_ctl(data_dir, "-m", "fast", "stop", check=False)


@contextmanager
def throwaway_postgres(
    *,
    superuser_password: str | None = None,
    settings: Mapping[str, str] | None = None,
    hba_lines: Sequence[str] = (),
) -> Iterator[ScratchCluster]:
    """A private PostgreSQL server; with ``superuser_password`` it requires scram passwords.

    ``settings`` are ``postgresql.conf`` parameters (``{"wal_level": "replica"}``); ``hba_lines``
    are added to ``pg_hba.conf`` before the default rules (replication access, for instance).
    """
    root = Path(tempfile.mkdtemp(prefix="edgewatch-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data = root / "data"
    initdb = [*as_postgres(), str(pg_bin() / "initdb"), "-D", str(data), "-U", "postgres"]
    initdb += [
        "-E",
        "UTF8",
        "--auth=trust" if superuser_password is None else "--auth=scram-sha-256",
    ]
    password_file = root / "initdb-password"
    if superuser_password is not None:
        password_file.write_text(superuser_password)
        if os.geteuid() == 0:
            shutil.chown(password_file, "postgres")
        initdb.append(f"--pwfile={password_file}")
    try:
        subprocess.run(initdb, check=True, capture_output=True)
        password_file.unlink(missing_ok=True)
        if hba_lines:
            hba = data / "pg_hba.conf"
            hba.write_text("\n".join(hba_lines) + "\n" + hba.read_text())
        port = free_port()
        start_cluster(data, port, root / "log", settings)
        try:
            yield ScratchCluster(root, data, port, superuser_password, dict(settings or {}))
        finally:
            stop_cluster(data)
    finally:
        shutil.rmtree(root, ignore_errors=True)
