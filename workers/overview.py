"""The service's state at a glance, read at the moment it is asked: queues, workers, channels,
live streams and the stores. `/metrics` exposes it as gauges, `podium status` prints it.

Nothing here is kept by the processes themselves: RQ already holds queues, registries and
worker registrations in Redis, and the channel and live stream indexes live there too, so any
process reading Redis sees the whole service.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from dataclasses import dataclass, field

from redis import Redis
from redis.exceptions import RedisError
from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job

from ingest.channels.models import ChannelState
from ingest.channels.store import ChannelStore
from ingest.live.models import LiveStatus
from ingest.live.store import LiveStreamStore
from ingest.storage.s3 import Storage
from workers import pipeline


@dataclass
class QueueState:
    name: str
    waiting: int
    oldest_age_s: float | None
    """Age of the job at the head of the queue (the next one a worker takes); None: empty."""
    running: int
    deferred: int
    scheduled: int
    failed: int


@dataclass
class WorkerState:
    name: str
    state: str
    """RQ's: `idle`, `busy`, `suspended`, ..."""
    job_id: str | None
    job_age_s: float | None
    heartbeat_age_s: float | None


@dataclass
class ChannelsState:
    by_state: dict[str, int]
    on_air: list[tuple[str, str]] = field(default_factory=list)
    """(id, name) of every channel on air."""


def _age(then: object, now: float) -> float | None:
    stamp = getattr(then, "timestamp", None)
    return max(0.0, now - stamp()) if callable(stamp) else None


def queue_names() -> list[str]:
    """Every queue of this stack: the ones `podium worker` serves, then the live one."""
    return [*pipeline.queue_names(), pipeline.live_queue_name()]


def queues(conn: Redis, now: float | None = None) -> list[QueueState]:
    now = time.time() if now is None else now
    out = []
    for name in queue_names():
        q = pipeline.queue(name, conn)
        oldest = None
        head: bytes | None = conn.lindex(q.key, 0)  # type: ignore[assignment]
        if head is not None:
            try:
                oldest = _age(pipeline.fetch_job(head.decode(), conn).enqueued_at, now)
            except NoSuchJobError:  # taken or deleted meanwhile
                oldest = None
        out.append(QueueState(
            name=name, waiting=q.count, oldest_age_s=oldest,
            running=q.started_job_registry.count, deferred=q.deferred_job_registry.count,
            scheduled=q.scheduled_job_registry.count, failed=q.failed_job_registry.count))
    return out


def workers(conn: Redis, now: float | None = None) -> list[WorkerState]:
    """Workers registered in Redis that serve at least one of this stack's queues."""
    now = time.time() if now is None else now
    ours = set(queue_names())
    out = []
    for w in Worker.all(connection=conn, serializer=pipeline.SERIALIZER):
        if not ours & set(w.queue_names()):
            continue
        job_id = w.get_current_job_id()
        job_age = None
        if job_id:
            try:
                job_age = _age(Job.fetch(job_id, connection=conn,
                                         serializer=pipeline.SERIALIZER).started_at, now)
            except NoSuchJobError:
                job_age = None
        out.append(WorkerState(name=w.name, state=str(w.get_state()), job_id=job_id,
                               job_age_s=job_age, heartbeat_age_s=_age(w.last_heartbeat, now)))
    return sorted(out, key=lambda w: w.name)


def channels(store: ChannelStore) -> ChannelsState:
    by_state = Counter({s.value: 0 for s in ChannelState})
    on_air = []
    for channel in store.list():
        by_state[channel.state.value] += 1
        if channel.state == ChannelState.ON_AIR:
            on_air.append((channel.id, channel.name))
    return ChannelsState(dict(by_state), on_air)


@dataclass
class LiveState:
    by_state: dict[str, int]
    active: list[tuple[str, str]] = field(default_factory=list)
    """(id, title) of every stream receiving now."""


def live_streams(store: LiveStreamStore) -> LiveState:
    """Live streams by state (every state of the contract, zero included)."""
    by_state = Counter({s.value: 0 for s in LiveStatus})
    active = []
    for stream in store.list():
        by_state[stream.status.value] += 1
        if stream.status == LiveStatus.ACTIVE:
            active.append((stream.id, stream.title))
    return LiveState(dict(by_state), active)


def stores(conn: Redis, storage: Storage | None) -> dict[str, bool]:
    """Whether Redis and the bucket (None: not configured) answer and ffmpeg is installed."""
    try:
        redis_ok = bool(conn.ping())
    except (RedisError, OSError):
        redis_ok = False
    return {"redis": redis_ok, "storage": storage is not None and storage.ping(),
            "ffmpeg": bool(shutil.which("ffmpeg") and shutil.which("ffprobe"))}
