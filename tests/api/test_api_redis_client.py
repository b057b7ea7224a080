"""The API's pipelining Redis client against real redis-servers: replies reach the right caller,
errors are errors, and every way ``EDGEWATCH_REDIS_URL`` can point at Redis works."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from certs import self_signed
from edgewatch.api.redis_client import RedisClient
from liveserver import free_port

REDIS_URL = os.environ.get("EDGEWATCH_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="EDGEWATCH_TEST_REDIS_URL is not set")


@contextmanager
def redis_server(*args: str) -> Iterator[None]:
    """A private redis-server with ``args``, until the block ends."""
    process = subprocess.Popen(
        ["redis-server", "--save", "", "--appendonly", "no", *args], stdout=subprocess.DEVNULL
    )
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _until_answers(client: RedisClient) -> list[object]:
    deadline = time.monotonic() + 10
    while True:
        try:
            return await client.execute(("PING",))
        except (RedisError, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


@needs_redis
def test_concurrent_calls_each_get_their_own_replies() -> None:
    assert REDIS_URL
    prefix = f"test:client:{uuid.uuid4().hex}"

    async def one(client: RedisClient, n: int) -> list[object]:
        await asyncio.sleep(0)
        return await client.execute(
            ("SET", f"{prefix}:{n}", f"value {n}", "EX", 60), ("GET", f"{prefix}:{n}"), ("ECHO", n)
        )

    async def scenario() -> list[list[object]]:
        client = RedisClient(REDIS_URL)
        try:
            return await asyncio.gather(*(one(client, n) for n in range(300)))
        finally:
            await client.aclose()

    replies = asyncio.run(scenario())
    assert replies == [[b"OK", f"value {n}".encode(), str(n).encode()] for n in range(300)]


@needs_redis
def test_an_error_reply_raises_and_the_connection_carries_on() -> None:
    assert REDIS_URL

    async def scenario() -> None:
        client = RedisClient(REDIS_URL)
        try:
            with pytest.raises(ResponseError, match="NOSCRIPT"):
                await client.execute(("EVALSHA", "0" * 40, 0))
            with pytest.raises(ResponseError, match="unknown command"):
                await client.execute(("PING",), ("NO-SUCH-COMMAND",))
            assert await client.execute(("ECHO", b"still in step")) == [b"still in step"]
        finally:
            await client.aclose()

    asyncio.run(scenario())


@needs_redis
def test_the_database_number_in_the_url_is_selected() -> None:
    assert REDIS_URL
    key = f"test:client:db:{uuid.uuid4().hex}"
    on_db_3 = REDIS_URL.rsplit("/", 1)[0] + "/3"

    async def scenario() -> None:
        client = RedisClient(on_db_3)
        await client.execute(("SET", key, "here", "EX", 60))
        await client.aclose()

    asyncio.run(scenario())
    check = redis.Redis.from_url(on_db_3)
    try:
        assert check.get(key) == b"here"
        assert redis.Redis.from_url(REDIS_URL).get(key) is None
    finally:
        check.delete(key)
        check.close()


def test_user_and_password_in_the_url_authenticate() -> None:
    port = free_port()
    password = "s3cret/with:odd@chars"
    with redis_server("--port", str(port), "--requirepass", password):
        good = RedisClient(f"redis://:{quote(password, safe='')}@127.0.0.1:{port}/0")
        bad = RedisClient(f"redis://default:wrong@127.0.0.1:{port}/0")
        none = RedisClient(f"redis://127.0.0.1:{port}/0")

        async def scenario() -> None:
            assert await _until_answers(good) == [b"PONG"]
            with pytest.raises(ResponseError, match="WRONGPASS"):
                await bad.execute(("PING",))
            with pytest.raises(ResponseError, match="NOAUTH"):
                await none.execute(("PING",))
            for client in (good, bad, none):
                await client.aclose()

        asyncio.run(scenario())


def test_a_unix_socket_url_connects(tmp_path: Path) -> None:
    path = tmp_path / "redis.sock"
    with redis_server("--port", "0", "--unixsocket", str(path)):
        client = RedisClient(f"unix://{path}?db=2")

        async def scenario() -> None:
            await _until_answers(client)
            await client.execute(("SET", "k", "on db 2"))
            assert await client.execute(("GET", "k")) == [b"on db 2"]
            await client.aclose()

        asyncio.run(scenario())
        assert redis.Redis(unix_socket_path=str(path), db=2).get("k") == b"on db 2"


def test_rediss_connects_over_tls_with_the_given_ca(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    port = free_port()
    tls = ["--tls-port", str(port), "--tls-cert-file", str(cert), "--tls-key-file", str(key)]
    tls += ["--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no"]
    with redis_server("--port", "0", *tls):
        trusted = RedisClient(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}")
        unverified = RedisClient(f"rediss://127.0.0.1:{port}/0?ssl_cert_reqs=none")
        untrusted = RedisClient(f"rediss://127.0.0.1:{port}/0")

        async def scenario() -> None:
            assert await _until_answers(trusted) == [b"PONG"]
            assert await unverified.execute(("PING",)) == [b"PONG"]
            with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
                await untrusted.execute(("PING",))
            for client in (trusted, unverified, untrusted):
                await client.aclose()

        asyncio.run(scenario())


def test_nothing_listening_fails_at_once() -> None:
    client = RedisClient(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises((RedisError, OSError)):
        asyncio.run(client.execute(("PING",)))
    assert time.monotonic() - started < 0.5


def test_a_server_that_never_answers_times_out_and_the_next_call_reconnects() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        client = RedisClient(f"redis://127.0.0.1:{port}/0", timeout=0.2)

        async def scenario() -> None:
            for _ in range(2):  # the first call's connection is dropped; the second makes a new one
                with pytest.raises(RedisTimeoutError, match=r"within 0\.2 s"):
                    await client.execute(("PING",))
            await client.aclose()

        asyncio.run(scenario())
        accepted = 0
        silent.settimeout(0.5)
        while True:
            try:
                silent.accept()[0].close()
            except TimeoutError:
                break
            accepted += 1
        assert accepted == 2


def test_redis_restarting_under_the_client_costs_one_failed_call_at_most() -> None:
    port = free_port()
    client = RedisClient(f"redis://127.0.0.1:{port}/0")

    async def call() -> bool:
        try:
            await client.execute(("PING",))
        except (RedisError, OSError):
            return False
        return True

    async def scenario(phase: str) -> list[bool]:
        if phase == "up":
            await _until_answers(client)
        return [await call() for _ in range(3)]

    async def both() -> None:
        with redis_server("--port", str(port)):
            assert await scenario("up") == [True, True, True]
        assert await scenario("down") == [False, False, False]
        with redis_server("--port", str(port)):
            assert await scenario("up") == [True, True, True]
        await client.aclose()

    asyncio.run(both())
