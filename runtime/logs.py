"""Logs of every process: text or one JSON object per line, with what the line is about.

A request id and the ids of the asset, channel, live stream (and the like) a line is about are
bound to the current context (`bind`), and a filter adds them to every record made within it:
the API binds the request id and the route's path ids for each request, a worker binds the
request id carried in the job's meta and the job's subject for each job. Nothing here imports
the web framework or the queue, so every layer can bind.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_context: ContextVar[Mapping[str, str] | None] = ContextVar("podium_log_context", default=None)
_request_scope: ContextVar[Mapping[str, Any] | None] = ContextVar("podium_request_scope",
                                                                  default=None)
ID_FIELDS = ("request_id", "job_id", "asset_id", "channel_id", "stream_id", "slot_id",
             "webhook_id", "delivery_id", "item_id")
"""Context fields, in the order text lines show them."""
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def new_request_id() -> str:
    """32 random hex digits (like a uuid4's hex, at a fraction of its cost)."""
    return os.urandom(16).hex()


def valid_request_id(value: str | None) -> str | None:
    """A client's X-Request-ID when it is a plain token (no spaces, quotes or newlines that
    could forge log lines), at most 128 characters; else None."""
    if value and _REQUEST_ID.fullmatch(value):
        return value
    return None


def context() -> dict[str, str]:
    """What is bound now, path ids of the request being served included."""
    fields = dict(_context.get() or {})
    scope = _request_scope.get()
    params = scope.get("path_params") if scope is not None else None
    if params:
        for name, value in params.items():
            if name in ID_FIELDS and name not in fields and isinstance(value, str):
                fields[name] = value
    return fields


def current_request_id() -> str | None:
    return (_context.get() or {}).get("request_id")


@contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """Bind ``fields`` (None values skipped) to every log line made within the block."""
    token = _context.set({**(_context.get() or {}), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


class RequestContext:
    """Serve a request with its id bound and, once it is routed, the ids among the path
    parameters of its ASGI scope (the router adds them) on every line. A class rather than a
    generator: it runs on every request."""

    def __init__(self, scope: Mapping[str, Any], request_id: str) -> None:
        self.scope, self.request_id = scope, request_id

    def __enter__(self) -> None:
        self._tokens = (_request_scope.set(self.scope),
                        _context.set({**(_context.get() or {}), "request_id": self.request_id}))

    def __exit__(self, *exc: object) -> None:
        scope_token, context_token = self._tokens
        _context.reset(context_token)
        _request_scope.reset(scope_token)


class ContextFilter(logging.Filter):
    """Copies the bound context onto each record (`record.podium`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "podium"):
            record.podium = context()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the bound ids, the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "podium", None) or context())
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The classic line, with the bound ids after the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(name)s %(levelname)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "podium", None) or context()
        if not fields:
            return text
        ids = " ".join(f"{k}={fields[k]}" for k in ID_FIELDS if k in fields)
        head, sep, tail = text.partition("\n")  # ids on the message line, before a traceback
        return f"{head} [{ids}]{sep}{tail}"


def formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


def configure(fmt: str = "text", level: str = "INFO") -> None:
    """One handler on the root logger (stderr) in ``fmt`` (`text` | `json`); in JSON, uvicorn's
    own handlers (configured before the app is imported) get the same formatter and filter.
    Calling it again replaces what an earlier call installed."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "podium", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.podium = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter(fmt))
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    if fmt != "json":
        return  # uvicorn's own lines keep their look
    for name in _UVICORN_LOGGERS:
        for h in logging.getLogger(name).handlers:
            h.setFormatter(formatter(fmt))
            if not any(isinstance(f, ContextFilter) for f in h.filters):
                h.addFilter(ContextFilter())
