"""A real S3 server on localhost for archive and backup tests: moto's server mode, in a thread.

Imported by the conftest of each test directory that needs it (``tests/`` is on ``sys.path``
through the root conftest). Edgewatch talks to it with its ordinary boto3 client over HTTP, so
the code under test is the production code path; only the far end is local.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty bucket; AWS credentials for the local server are in the environment."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "edgewatch-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "edgewatch-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    name = f"edgewatch-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["local", "s3"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """``(url, endpoint_url)`` of an empty object store: a directory, then the local S3 server."""
    if request.param == "local":
        return str(tmp_path / "store"), None
    bucket = request.getfixturevalue("s3_bucket")
    return f"s3://{bucket}/edgewatch", request.getfixturevalue("s3_endpoint")
