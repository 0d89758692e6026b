"""Prometheus metrics of the API process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge
from redis import Redis
from redis.exceptions import RedisError

from workers import pipeline

HTTP_REQUESTS = Counter("podium_http_requests_total", "HTTP requests",
                        ["method", "route", "status"])
QUEUE_DEPTH = Gauge("podium_queue_jobs", "Jobs waiting in each RQ queue", ["queue"])


def refresh_queue_gauges(redis: Redis) -> None:
    for name in pipeline.queue_names():
        try:
            QUEUE_DEPTH.labels(queue=name).set(pipeline.queue(name, redis).count)
        except RedisError:
            QUEUE_DEPTH.labels(queue=name).set(float("nan"))
