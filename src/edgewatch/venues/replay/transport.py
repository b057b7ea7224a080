"""An httpx transport that answers from a recording instead of the network.

It serves one poll: each request gets the next recorded response to the same request (method,
URL and query parameters) made during that poll, in recorded order, so retries see the same
429s and 500s they saw live. A request the poll did not make (a live client answered it from its
cache, e.g. Kalshi's series fee terms) gets the latest response to it recorded before the poll.
A request never recorded raises ``InvalidInput``: the recording cannot reproduce that call.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from datetime import datetime

import httpx

from edgewatch.errors import InvalidInput
from edgewatch.venues.replay.reader import RecordedResponse

RequestKey = tuple[str, str, tuple[tuple[str, str], ...]]


def request_key(method: str, url: str, params: Iterable[tuple[str, str]]) -> RequestKey:
    return method.upper(), url, tuple(sorted(params))


class ReplayTransport(httpx.BaseTransport):
    def __init__(
        self, responses: Iterable[RecordedResponse], *, earlier: Iterable[RecordedResponse] = ()
    ) -> None:
        self._queues: dict[RequestKey, deque[RecordedResponse]] = defaultdict(deque)
        for response in responses:
            self._queues[self._key(response)].append(response)
        self._latest_earlier: dict[RequestKey, RecordedResponse] = {}
        for response in earlier:
            key = self._key(response)
            # A live client caches answers, never failures: prefer the latest success.
            known = self._latest_earlier.get(key)
            if known is None or response.status < 400 or known.status >= 400:
                self._latest_earlier[key] = response
        #: When the response served last was received: the parsers' ``received_at``.
        self.received_at: datetime | None = None

    @staticmethod
    def _key(response: RecordedResponse) -> RequestKey:
        return request_key(response.method, response.url, response.params)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = request_key(
            request.method,
            str(request.url.copy_with(query=None)),
            request.url.params.multi_items(),
        )
        queue = self._queues.get(key)
        if queue:
            recorded = queue.popleft()
        elif key in self._latest_earlier:
            recorded = self._latest_earlier[key]
        else:
            raise InvalidInput(f"the recording has no response to {request.method} {request.url}")
        self.received_at = recorded.received_at
        return httpx.Response(
            recorded.status, headers=list(recorded.headers), content=recorded.body, request=request
        )
