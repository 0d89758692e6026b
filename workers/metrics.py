"""The service's counters and histograms, kept in Redis so that one scrape sees every process.

Jobs run in RQ work horses, forked once per job and gone when it ends, on any number of
machines; the API may run as several processes or containers. prometheus_client's
multiprocess mode would need one directory shared by all of them (impossible across
containers) and leaves one file per process, so one per job here. Instead every process adds
its increments to Redis hashes (`<prefix>:metrics:<name>`), which every process shares
already, and any API process exposes the totals (api/metrics.py).

Increments are buffered per process and written in one pipelined round trip: a job's when it
ends, the API's about once a second (never on the request path). A histogram keeps one
(non-cumulative) count per bucket plus its sum; the exposition cumulates them.
"""

from __future__ import annotations

import json
import threading
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from redis import Redis
from redis.exceptions import RedisError

from config import get_settings

SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
JOB_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
SPEED_BUCKETS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0)


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Literal["counter", "histogram"]
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()


HTTP_REQUESTS = Metric("podium_http_requests", "counter",
                       "HTTP requests answered, by route template and status",
                       ("method", "route", "status"))
HTTP_SECONDS = Metric("podium_http_request_duration_seconds", "histogram",
                      "Time to the response's headers, by route template",
                      ("method", "route"), SECONDS_BUCKETS)
UPLOAD_BYTES = Metric("podium_upload_bytes", "counter",
                      "Bytes of media received by the upload routes (form, tus, PUT)", ("route",))
JOB_SECONDS = Metric("podium_job_duration_seconds", "histogram",
                     "Run time of each job, by stage and outcome (its _count counts outcomes)",
                     ("stage", "outcome"), JOB_BUCKETS)
TRANSCODE_SPEED = Metric("podium_transcode_speed_ratio", "histogram",
                         "Media seconds encoded per wall-clock second (x real time), "
                         "whole ladder in one pass", (), SPEED_BUCKETS)
WEBHOOK_ATTEMPTS = Metric("podium_webhook_attempts", "counter",
                          "Webhook delivery attempts, by outcome (failed: not 2xx or unreachable)",
                          ("outcome",))
WEBHOOK_DELIVERIES = Metric("podium_webhook_deliveries", "counter",
                            "Webhook deliveries ended, by final state", ("state",))
LIVE_CAPTIONS_SKIPPED = Metric("podium_live_captions_skipped_seconds", "counter",
                               "Seconds of live audio left without captions because speech "
                               "recognition fell behind and skipped ahead")
METRICS = (HTTP_REQUESTS, HTTP_SECONDS, UPLOAD_BYTES, JOB_SECONDS, TRANSCODE_SPEED,
           WEBHOOK_ATTEMPTS, WEBHOOK_DELIVERIES, LIVE_CAPTIONS_SKIPPED)
SUM, INF = "sum", "+Inf"
VIEWER_BUCKET_S = 10
"""Viewers are counted in HyperLogLogs of 10 s; an estimate merges those of the window."""


def hash_key(metric: Metric) -> str:
    return f"{get_settings().queue_prefix}:metrics:{metric.name}"


def _viewers_key(prefix: str, channel_id: str, bucket: int) -> str:
    return f"{prefix}:viewers:{channel_id}:{bucket}"


def _watched_key(prefix: str) -> str:
    """Channels by the last time a viewer fetched a playlist."""
    return f"{prefix}:viewers:channels"


@lru_cache(maxsize=8192)
def _field(values: tuple[str, ...], part: str = "") -> str:
    """A series' hash field (cached: label sets are few and recur on every request)."""
    return json.dumps([*values, part] if part else list(values), separators=(",", ":"))


def _bucket(metric: Metric, value: float) -> str:
    at = bisect_left(metric.buckets, value)
    return repr(metric.buckets[at]) if at < len(metric.buckets) else INF


class Recorder:
    """Increments of this process not yet in Redis (thread-safe)."""

    def __init__(self) -> None:
        # keyed by the Redis key, named when recorded (the prefix of that moment)
        self._pending: dict[tuple[str, str], float] = defaultdict(float)
        self._viewers: dict[tuple[str, str, int], set[str]] = defaultdict(set)
        self._lock = threading.Lock()

    def viewer(self, channel_id: str, client: str, at: float) -> None:
        """A client fetched one of the channel's playlists at ``at`` (unix time)."""
        where = (get_settings().queue_prefix, channel_id, int(at // VIEWER_BUCKET_S))
        with self._lock:
            self._viewers[where].add(client)

    def inc(self, metric: Metric, *labels: str, amount: float = 1.0) -> None:
        key = hash_key(metric)
        with self._lock:
            self._pending[(key, _field(labels))] += amount

    def observe(self, metric: Metric, value: float, *labels: str) -> None:
        key = hash_key(metric)
        with self._lock:
            self._pending[(key, _field(labels, _bucket(metric, value)))] += 1
            self._pending[(key, _field(labels, SUM))] += value

    def flush(self, conn: Redis) -> bool:
        """Write what is pending in one round trip (MULTI/EXEC: all or nothing); counts are
        kept for the next flush if Redis is away, viewers dropped (they are about now)."""
        with self._lock:
            pending, self._pending = self._pending, defaultdict(float)
            viewers, self._viewers = self._viewers, defaultdict(set)
        if not pending and not viewers:
            return True
        try:
            pipe = conn.pipeline(transaction=True)
            for (key, field), amount in pending.items():
                pipe.hincrbyfloat(key, field, amount)
            window = get_settings().viewer_window_s
            for (prefix, channel_id, bucket), clients in viewers.items():
                key = _viewers_key(prefix, channel_id, bucket)
                pipe.pfadd(key, *clients)
                pipe.expire(key, window + 2 * VIEWER_BUCKET_S)
                pipe.zadd(_watched_key(prefix), {channel_id: bucket * VIEWER_BUCKET_S}, gt=True)
            pipe.execute()
            return True
        except RedisError:
            with self._lock:
                for pkey, amount in pending.items():
                    self._pending[pkey] += amount
            return False


RECORDER = Recorder()
"""This process's recorder (a forked work horse starts with its parent's, which is empty)."""


@dataclass
class Series:
    labels: tuple[str, ...]
    value: float = 0.0
    buckets: dict[str, float] | None = None
    """Histogram: bucket bound (repr, `+Inf`) → count in that bucket alone."""
    sum: float = 0.0


def read(conn: Redis, metric: Metric) -> list[Series]:
    """Every labelled series of ``metric`` as stored."""
    raw: dict[bytes, bytes] = conn.hgetall(hash_key(metric))  # type: ignore[assignment]
    series: dict[tuple[str, ...], Series] = {}
    width = len(metric.labels)
    for field, value in raw.items():
        parts = json.loads(field)
        labels = tuple(str(p) for p in parts[:width])
        one = series.setdefault(
            labels, Series(labels, buckets={} if metric.kind == "histogram" else None))
        if metric.kind == "counter":
            one.value += float(value)
        elif parts[width] == SUM:
            one.sum += float(value)
        else:
            assert one.buckets is not None
            one.buckets[parts[width]] = float(value)
    return sorted(series.values(), key=lambda s: s.labels)


def viewers(conn: Redis, now: float) -> dict[str, int]:
    """Distinct clients per channel over the last `viewer_window_s` (HyperLogLog estimate,
    about 1% off; the window is rounded out to whole 10 s buckets). Channels nobody watched
    within the window are left out (and forgotten)."""
    s = get_settings()
    since = now - s.viewer_window_s
    watched = _watched_key(s.queue_prefix)
    conn.zremrangebyscore(watched, "-inf", since - VIEWER_BUCKET_S)
    raw: list[bytes] = conn.zrange(watched, 0, -1)  # type: ignore[assignment]
    first, last = int(since // VIEWER_BUCKET_S), int(now // VIEWER_BUCKET_S)
    counts = {}
    for member in raw:
        channel_id = member.decode()
        keys = [_viewers_key(s.queue_prefix, channel_id, b) for b in range(first, last + 1)]
        counts[channel_id] = int(conn.pfcount(*keys))
    return counts
