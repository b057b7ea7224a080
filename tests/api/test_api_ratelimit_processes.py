"""Two API processes sharing one Redis enforce one rate limit between them."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis

from api_process import api_processes

REDIS_URL = os.environ.get("EDGEWATCH_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="EDGEWATCH_TEST_REDIS_URL is not set")


@pytest.fixture
def shared_env(db_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    assert REDIS_URL
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield {
        "EDGEWATCH_ENVIRONMENT": "test",
        "EDGEWATCH_SECRET_KEY": "test-secret-key-not-a-placeholder",
        "EDGEWATCH_DATABASE_URL": db_url,
        "EDGEWATCH_DATA_DIR": str(tmp_path / "data"),
        "EDGEWATCH_REDIS_URL": REDIS_URL,
        "EDGEWATCH_REDIS_KEY_PREFIX": prefix,
        "EDGEWATCH_RATE_LIMIT_PER_MINUTE": "100",
    }
    redis = Redis.from_url(REDIS_URL)
    keys = list(redis.scan_iter(f"{prefix}:*"))
    if keys:
        redis.delete(*keys)
    redis.close()


def test_two_api_processes_sharing_redis_enforce_one_limit(
    shared_env: dict[str, str], tmp_path: Path
) -> None:
    with api_processes(shared_env, count=2, log_dir=tmp_path) as (first, second):
        statuses: Counter[int] = Counter()
        retry_after: set[str] = set()
        with httpx.Client(timeout=10) as http:
            for _ in range(60):
                for base in (first, second):
                    response = http.get(f"{base}/api/v1/disclaimers")
                    statuses[response.status_code] += 1
                    if response.status_code == 429:
                        retry_after.add(response.headers["retry-after"])
                        assert response.headers["ratelimit-limit"] == "100"

    assert statuses == Counter({200: 100, 429: 20})
    assert retry_after and all(1 <= int(value) <= 60 for value in retry_after)
