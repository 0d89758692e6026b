"""One attempt against real local HTTP servers: the pinned address, no redirect followed, the
answer read only up to its cap, short timeouts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ingest.webhooks import sending
from ingest.webhooks.destinations import check_destination
from ingest.webhooks.models import new_secret
from ingest.webhooks.signing import signed_headers
from tests.support.receiver import Route, receiver

pytestmark = pytest.mark.integration
FAST = sending.Timeouts(connect_s=2, read_s=1)


@contextmanager
def server(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()


class Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


def test_a_signed_post_reaches_the_receiver_through_the_checked_address() -> None:
    secret = new_secret()
    with receiver() as rx:
        rx.routes["/hook"] = Route(secret=secret)
        # a name, resolved by the system, then connected to by address with its Host header
        dest = check_destination(f"http://localhost:{rx.port}/hook", allow_private=True)
        assert dest.address in ("127.0.0.1", "::1")
        if dest.address == "::1":
            pytest.skip("localhost resolves to ::1 first here; the receiver listens on IPv4")
        body = '{"type":"asset.ready","timestamp":"t","data":{}}'
        attempt = sending.post(dest, signed_headers(secret, "msg_1", datetime.now(UTC), body),
                               body, FAST)
        assert attempt.status_code == 204 and attempt.succeeded and attempt.error is None
        [got] = rx.at("/hook")
        assert got.verified and got.headers["host"] == f"localhost:{rx.port}"
        assert got.headers["content-type"] == "application/json"


def test_a_redirect_is_an_answer_not_followed() -> None:
    hits: list[str] = []

    class Redirect(Quiet):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.send_response(307)
            self.send_header("location", "/elsewhere")
            self.send_header("content-length", "0")
            self.end_headers()

    with server(Redirect) as port:
        dest = check_destination(f"http://127.0.0.1:{port}/hook", allow_private=True)
        attempt = sending.post(dest, {}, "{}", FAST)
    assert attempt.status_code == 307 and not attempt.succeeded
    assert hits == ["/hook"]


def test_a_huge_answer_is_read_only_up_to_the_cap() -> None:
    class Flood(Quiet):
        def do_POST(self) -> None:
            self.send_response(200)
            self.send_header("content-length", str(1 << 30))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(1 << 14):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass

    with server(Flood) as port:
        dest = check_destination(f"http://127.0.0.1:{port}/", allow_private=True)
        started = time.monotonic()
        attempt = sending.post(dest, {}, "{}", FAST)
    assert attempt.status_code == 200
    assert time.monotonic() - started < 5, "1 GiB announced, only the cap read"


def test_a_receiver_that_never_answers_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        dest = check_destination(f"http://127.0.0.1:{listener.getsockname()[1]}/",
                                 allow_private=True)
        started = time.monotonic()
        attempt = sending.post(dest, {}, "{}", FAST)
    finally:
        listener.close()
    assert attempt.status_code is None and attempt.error is not None
    assert attempt.error.startswith("read timeout")
    assert time.monotonic() - started < 5


def test_a_closed_port_is_an_error_not_an_exception() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dest = check_destination(f"http://127.0.0.1:{port}/", allow_private=True)
    attempt = sending.post(dest, {}, "{}", FAST)
    assert attempt.status_code is None and attempt.error is not None
    assert attempt.error.startswith("connection failed")
