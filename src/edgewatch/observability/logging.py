"""The one logging setup: structlog, JSON lines by default, with context bound per request/job.

``bind_context(request_id=...)`` puts a key on every line logged in the current request or job
(contextvars, so threads and async tasks each keep their own). Secrets never reach the log: values
of keys that look like credentials are masked by ``_redact``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

_SECRET_MARKERS = ("password", "secret", "token", "api_key", "apikey", "authorization")
#: ``scheme://user:password@host``: the password part of a URL (database, broker, webhook).
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@\s]*@", re.IGNORECASE)


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and any(marker in key.lower() for marker in _SECRET_MARKERS)


def _scrub(value: Any) -> Any:
    """Mask credentials inside a value: URL passwords in strings, secret keys in containers."""
    if isinstance(value, str):
        return _URL_PASSWORD.sub(r"\g<head>***@", value) if "@" in value else value
    if isinstance(value, Mapping):
        return {k: "***" if _is_secret_key(k) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def _redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    for key in list(event_dict):
        event_dict[key] = "***" if _is_secret_key(key) else _scrub(event_dict[key])
    return event_dict


class _StderrLogger:
    """Writes each line to whatever ``sys.stderr`` is *now* (tests swap it; pipes get reopened)."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(*, level: str = "info", fmt: str = "json") -> None:
    """Configure structlog and the standard library to emit one format to stderr."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, _redact, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=lambda *_args: _StderrLogger(),
        cache_logger_on_first_use=False,
    )
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processor=renderer)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Uvicorn's access log duplicates our request log line; its error log is kept.
    logging.getLogger("uvicorn.access").handlers[:] = []
    logging.getLogger("uvicorn.access").propagate = False
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger


bind_context = structlog.contextvars.bind_contextvars
clear_context = structlog.contextvars.clear_contextvars
bound_context = structlog.contextvars.bound_contextvars
