"""What the API adds to the operator's view: the request id and log context of each request,
HTTP latency per route, upload bytes, viewers of live channels; and `/metrics` itself.

The figures live in Redis (workers.metrics explains why), so any API process answers
`/metrics` for the whole service: this process's increments are flushed there about once a
second by a background thread, and once more before a scrape so its own are current.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from redis import Redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import REQUEST_ID_HEADER, REQUEST_ID_SCOPE_KEY
from runtime import handles, logs
from workers import metrics, overview
from workers.metrics import RECORDER

log = logging.getLogger(__name__)
_REQUEST_ID_KEY = REQUEST_ID_HEADER.lower().encode()
FLUSH_EVERY_S = 1.0
UPLOAD_ROUTES = frozenset({("POST", "/v1/assets"), ("POST", "/u/{slot_id}/tus"),
                           ("PATCH", "/u/{slot_id}/tus/{transfer_id}"),
                           ("PUT", "/u/{slot_id}/file")})
LIVE_PLAYLISTS = frozenset({"/live/{channel_id}.m3u8", "/live/{channel_id}/{name}.m3u8"})
UNMATCHED = "unmatched"
"""The route label of a path no route matched: raw paths never become labels."""


class RequestMetrics:
    """Pure ASGI middleware (no response buffering, context kept for the endpoint): binds the
    request id (the client's X-Request-ID if it is a plain token, else a new one; echoed in the
    response) and the route's path ids to the logs, and records latency, status, upload
    bytes and live viewers by route template once the response starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given, agent = "", b""
        for name, raw in scope.get("headers") or ():
            if name == _REQUEST_ID_KEY:
                given = raw.decode("latin-1")
            elif name == b"user-agent":
                agent = raw
        request_id = logs.valid_request_id(given) or logs.new_request_id()
        scope[REQUEST_ID_SCOPE_KEY] = request_id
        echoed = (_REQUEST_ID_KEY, request_id.encode())
        started = time.perf_counter()
        received = 0
        answered = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                message["headers"] = [*message.get("headers", ()), echoed]
                _record(scope, agent, message["status"], time.perf_counter() - started,
                        received)
            await send(message)

        with logs.RequestContext(scope, request_id):
            try:
                await self.app(scope, counting_receive, send_with_id)
            except Exception:
                # Starlette's error middleware, outside this one, answers 500: count it here
                if not answered:
                    _record(scope, agent, 500, time.perf_counter() - started, received)
                raise


def _record(scope: Scope, agent: bytes, status: int, seconds: float, body_bytes: int) -> None:
    method, route = scope["method"], getattr(scope.get("route"), "path", UNMATCHED)
    RECORDER.inc(metrics.HTTP_REQUESTS, method, route, str(status))
    RECORDER.observe(metrics.HTTP_SECONDS, seconds, method, route)
    if (method, route) in UPLOAD_ROUTES and body_bytes:
        RECORDER.inc(metrics.UPLOAD_BYTES, route, amount=body_bytes)
    if route in LIVE_PLAYLISTS and status in (200, 304):
        channel_id = scope.get("path_params", {}).get("channel_id", "")
        RECORDER.viewer(channel_id, _client_id(scope, agent), time.time())


def _client_id(scope: Scope, agent: bytes) -> str:
    """A viewer: its address and user agent, hashed (nothing personal reaches Redis)."""
    host = (scope.get("client") or ("", 0))[0]
    return hashlib.blake2b(host.encode() + b"|" + agent, digest_size=12).hexdigest()


class _Flusher:
    """Flushes this process's increments to Redis every FLUSH_EVERY_S (daemon thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def ensure_running(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="metrics-flush",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_EVERY_S)
            RECORDER.flush(handles.redis_connection())


FLUSHER = _Flusher()


class ServiceCollector(Collector):
    """The whole service's metrics, read from Redis at scrape time."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def collect(self) -> Iterator[Metric]:
        for metric in metrics.METRICS:
            yield _family(metric, metrics.read(self.redis, metric))
        yield from _queue_families(self.redis)
        yield _worker_family(self.redis)
        yield from _channel_families(self.redis)
        live = GaugeMetricFamily("podium_live_streams", "Live streams by state", labels=["state"])
        for state, count in overview.live_streams(handles.live_store()).by_state.items():
            live.add_metric([state], count)
        yield live


def _family(metric: metrics.Metric, series: Iterable[metrics.Series]) -> Metric:
    if metric.kind == "counter":
        counter = CounterMetricFamily(metric.name, metric.help, labels=metric.labels)
        for one in series:
            counter.add_metric(one.labels, one.value)
        return counter
    histogram = HistogramMetricFamily(metric.name, metric.help, labels=metric.labels)
    for one in series:
        assert one.buckets is not None
        running, cumulative = 0.0, []
        for bound in [*(repr(b) for b in metric.buckets), metrics.INF]:
            running += one.buckets.get(bound, 0.0)
            cumulative.append((bound, running))
        histogram.add_metric(one.labels, cumulative, one.sum)
    return histogram


def _queue_families(redis: Redis) -> Iterator[Metric]:
    depth = GaugeMetricFamily("podium_queue_jobs", "Jobs waiting in each RQ queue",
                              labels=["queue"])
    oldest = GaugeMetricFamily("podium_queue_oldest_job_age_seconds",
                               "Age of the job at the head of each queue (0: queue empty)",
                               labels=["queue"])
    registries = GaugeMetricFamily("podium_queue_registry_jobs",
                                   "Jobs of each queue running, deferred (waiting for another), "
                                   "scheduled (retry or timed) or failed",
                                   labels=["queue", "registry"])
    for q in overview.queues(redis):
        depth.add_metric([q.name], q.waiting)
        oldest.add_metric([q.name], q.oldest_age_s or 0.0)
        for registry in ("running", "deferred", "scheduled", "failed"):
            registries.add_metric([q.name, registry], getattr(q, registry))
    yield from (depth, oldest, registries)


def _worker_family(redis: Redis) -> Metric:
    family = GaugeMetricFamily("podium_workers", "RQ workers registered, by state",
                               labels=["state"])
    states: dict[str, int] = {"idle": 0, "busy": 0}
    for w in overview.workers(redis):
        states[w.state] = states.get(w.state, 0) + 1
    for state, count in sorted(states.items()):
        family.add_metric([state], count)
    return family


def _channel_families(redis: Redis) -> Iterator[Metric]:
    state = overview.channels(handles.channel_store())
    by_state = GaugeMetricFamily("podium_channels", "Channels by state", labels=["state"])
    for name, count in sorted(state.by_state.items()):
        by_state.add_metric([name], count)
    yield by_state
    viewers = GaugeMetricFamily("podium_channel_viewers",
                                "Distinct clients that fetched a channel's playlists within "
                                "the viewer window (HyperLogLog estimate)", labels=["channel"])
    counts = metrics.viewers(redis, time.time())
    for channel_id, _ in state.on_air:
        counts.setdefault(channel_id, 0)  # on air and nobody watching: 0, not absent
    for channel_id, count in sorted(counts.items()):
        viewers.add_metric([channel_id], count)
    yield viewers


def exposition(redis: Redis) -> bytes:
    """`/metrics`: this process's increments written first, then everything read back."""
    from prometheus_client import generate_latest

    RECORDER.flush(redis)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(redis))
    return generate_latest(registry)
