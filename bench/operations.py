"""What the operator's view costs: a request through api.metrics.RequestMetrics against the
same app without it and with the request counter it replaced (a BaseHTTPMiddleware adding to a
prometheus_client Counter), and one `/metrics` exposition, in one process.

    .venv/bin/python bench/operations.py [--requests 20000] [--routes 40] [--channels 20]

The app is the smallest one with a playlist-like route (`/play/{asset_id}.m3u8`, an id per
request); requests are ASGI calls in this process (no sockets), alternating blocks with and
without the middleware so both see the same machine. The exposition reads back what those
requests recorded (flushed to Redis), plus `--routes` route templates of synthetic history
and `--channels` channels with viewers. Uses the Redis at PODIUM_REDIS_URL if it answers, else
starts its own redis-server; keys go under a prefix of its own, removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI, Request, Response  # noqa: E402
from fastapi.responses import PlainTextResponse  # noqa: E402
from prometheus_client import Counter  # noqa: E402
from starlette.types import ASGIApp  # noqa: E402

from cli import services  # noqa: E402


def make_app(with_metrics: bool) -> ASGIApp:
    from api.metrics import RequestMetrics

    app = FastAPI()

    @app.get("/play/{asset_id}.m3u8")
    async def playlist(asset_id: str) -> PlainTextResponse:  # no thread hand-off noise
        return PlainTextResponse("#EXTM3U\n")

    return RequestMetrics(app) if with_metrics else app


def make_previous_app() -> ASGIApp:
    """The same app with the counter this version replaced (Podium before 2026-12-01)."""
    app = FastAPI()
    counter = Counter("bench_http_requests_total", "HTTP requests", ["method", "route", "status"])

    @app.get("/play/{asset_id}.m3u8")
    async def playlist(asset_id: str) -> PlainTextResponse:
        return PlainTextResponse("#EXTM3U\n")

    @app.middleware("http")
    async def count_requests(request: Request,
                             call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        path = getattr(request.scope.get("route"), "path", "unmatched")
        counter.labels(request.method, path, str(response.status_code)).inc()
        return response

    return app


async def call(app: ASGIApp, path: str) -> None:
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": [(b"user-agent", b"bench")], "http_version": "1.1",
             "scheme": "http", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000),
             "root_path": ""}

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        return None

    await app(scope, receive, send)  # type: ignore[arg-type]


def per_request_us(app: ASGIApp, n: int) -> float:
    async def run() -> float:
        start = time.perf_counter()
        for i in range(n):
            await call(app, f"/play/as-{i:016x}.m3u8")
        return (time.perf_counter() - start) / n * 1e6
    return asyncio.run(run())


def timed(fn: Callable[[], object], runs: int) -> float:
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    return (time.perf_counter() - start) / runs * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--routes", type=int, default=40)
    parser.add_argument("--channels", type=int, default=20)
    args = parser.parse_args()

    url = os.environ.get("PODIUM_REDIS_URL", "redis://127.0.0.1:6379/15")
    own = None
    tmp = Path(tempfile.mkdtemp(prefix="bench-ops-"))
    if not services.redis_answers(url):
        url = "redis://127.0.0.1:6391/0"
        own = services.start_redis(url, tmp / "redis", tmp)
    prefix = f"benchops{secrets.token_hex(3)}"
    os.environ.update({"PODIUM_REDIS_URL": url, "PODIUM_QUEUE_PREFIX": prefix,
                       "PODIUM_S3_SECRET_KEY": "unused-no-channel-record-is-read",
                       "PODIUM_S3_ENDPOINT": "http://127.0.0.1:9"})
    from api.metrics import exposition
    from runtime import handles
    from workers import metrics

    handles.reset()
    conn = handles.redis_connection()
    try:
        bare, measured, previous = make_app(False), make_app(True), make_previous_app()
        per_block = max(1, args.requests // 10)
        plain_us, with_us, previous_us = [], [], []
        for _ in range(10):  # alternate, so all see the same machine
            plain_us.append(per_request_us(bare, per_block))
            with_us.append(per_request_us(measured, per_block))
            previous_us.append(per_request_us(previous, per_block))
        flush_ms = timed(lambda: metrics.RECORDER.flush(conn), 1)
        for r in range(args.routes):
            for status in ("200", "404"):
                metrics.RECORDER.inc(metrics.HTTP_REQUESTS, "GET", f"/route{r}/{{id}}", status)
            metrics.RECORDER.observe(metrics.HTTP_SECONDS, 0.01 * r, "GET", f"/route{r}/{{id}}")
        now = time.time()
        for c in range(args.channels):
            for v in range(50):
                metrics.RECORDER.viewer(f"ch-{c:016x}", f"client{v}", now)
        metrics.RECORDER.flush(conn)
        scrape_ms = timed(lambda: exposition(conn), 20)
        size = len(exposition(conn))
        plain, with_mw = sorted(plain_us)[5], sorted(with_us)[5]
        before = sorted(previous_us)[5]
        print(f"requests   {args.requests} per app (10 alternating blocks, median block)")
        print(f"  no middleware                 {plain:8.1f} us/request")
        print(f"  RequestMetrics                {with_mw:8.1f} us/request")
        print(f"  previous counter (BaseHTTP)   {before:8.1f} us/request")
        extra = with_mw - plain
        print(f"  ratio RequestMetrics/none     {with_mw / plain:8.2f}  (+{extra:.1f} us)")
        print(f"  ratio RequestMetrics/previous {with_mw / before:8.2f}")
        print(f"flush after {args.requests} requests: {flush_ms:.1f} ms (one MULTI/EXEC)")
        print(f"/metrics exposition ({args.routes} extra routes, {args.channels} watched channels):"
              f" {scrape_ms:.1f} ms, {size} bytes")
    finally:
        keys = list(conn.scan_iter(f"{prefix}:*"))
        if keys:
            conn.delete(*keys)
        if own is not None:
            own.stop()


if __name__ == "__main__":
    main()
