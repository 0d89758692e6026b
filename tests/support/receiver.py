"""A real webhook receiver for tests: a threaded HTTP server on 127.0.0.1 that checks every
signature with the `standardwebhooks` reference package and answers as each path is told to."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook as Verifier
from standardwebhooks import WebhookVerificationError


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def msg_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Route:
    secret: str = ""
    fail_first: int = 0
    """Answer 500 to the first attempts of each message (by webhook-id), then ``ok``."""
    always: int | None = None
    """Answer this status to every attempt (a receiver that never accepts)."""
    ok: int = 204


@dataclass
class Receiver:
    port: int = 0
    routes: dict[str, Route] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    _tries: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        route = self.routes.get(path)
        if route is None:
            return 404
        try:
            Verifier(route.secret).verify(body, headers)
            verified = True
        except (WebhookVerificationError, ValueError):
            verified = False
        with self._lock:
            key = (path, headers.get("webhook-id", ""))
            self._tries[key] += 1
            if route.always is not None:
                status = route.always
            elif self._tries[key] <= route.fail_first:
                status = 500
            else:
                status = route.ok if verified else 401
            self.received.append(Received(path, headers, body, verified, status))
        return status

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A running receiver; stopped when the block ends."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = state.answer(self.path, headers, body)
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
