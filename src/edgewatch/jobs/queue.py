"""Queue depth: how many Celery tasks wait in Redis, per queue.

Kombu's Redis transport keeps a queue as Redis lists: the queue's own name for priority 0, and
``<name>\\x06\\x16<priority>`` for the other priority steps. Depth is the sum of their lengths
(``LLEN``, O(1)); tasks already taken by a worker are not waiting and are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import redis

from edgewatch.observability.logging import get_logger
from edgewatch.observability.metrics import QUEUE_DEPTH

log = get_logger(__name__)

#: Kombu's default priority steps and the separator of its priority queue names.
PRIORITY_STEPS = (0, 3, 6, 9)
PRIORITY_SEPARATOR = "\x06\x16"


def _keys(queue: str) -> list[str]:
    return [queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS]


@lru_cache(maxsize=8)
def _client(url: str, timeout: float) -> redis.Redis:
    # One pooled client per broker: /api/v1/pipelines asks on every request, and a new connection
    # each time cost more than the question.
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def queue_depths(url: str, queues: Sequence[str], *, timeout: float = 1.0) -> dict[str, int] | None:
    """Waiting tasks per queue, also set on ``edgewatch_queue_depth``; ``None`` if Redis is down."""
    try:
        with _client(url, timeout).pipeline(transaction=False) as pipe:
            for queue in queues:
                for key in _keys(queue):
                    pipe.llen(key)
            lengths = pipe.execute()
    except redis.RedisError as exc:
        log.warning("queue_depth_unavailable", error=str(exc))
        return None
    steps = len(PRIORITY_STEPS)
    depths = {
        queue: int(sum(lengths[i * steps : (i + 1) * steps])) for i, queue in enumerate(queues)
    }
    for queue, depth in depths.items():
        QUEUE_DEPTH.labels(queue=queue).set(depth)
    return depths
