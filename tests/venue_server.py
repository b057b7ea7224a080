"""A real HTTP server on 127.0.0.1 that replays scripted venue answers and injects faults."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Answer:
    """One scripted answer: a JSON body with a status, or a fault."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: "drop": close the connection without answering; "stall": answer after ``delay`` seconds.
    fault: str | None = None
    delay: float = 0.0


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


class ScriptedServer:
    """Answers each path from its queue, in order; the last answer of a path repeats."""

    def __init__(self) -> None:
        self.scripts: dict[str, deque[Answer]] = defaultdict(deque)
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
                with server._lock:
                    server.seen.append(Seen(parts.path, query, dict(self.headers.items())))
                    queue = server.scripts.get(parts.path)
                    if not queue:
                        answer = Answer(404, {"error": "not found"})
                    elif len(queue) > 1:
                        answer = queue.popleft()
                    else:
                        answer = queue[0]
                if answer.fault == "drop":
                    self.close_connection = True
                    return
                if answer.fault == "stall":
                    time.sleep(answer.delay)
                payload = json.dumps(answer.body).encode()
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, path: str, *answers: Answer) -> None:
        self.scripts[path].extend(answers)

    def rescript(self, path: str, *answers: Answer) -> None:
        """Replace what ``path`` answers from now on (the venue changed its behaviour)."""
        with self._lock:
            self.scripts[path] = deque(answers)

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]
