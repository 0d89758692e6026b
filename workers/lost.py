"""Work of a worker that died: put its started jobs back in their queue now, not minutes later.

Two ways to learn that a worker is gone:

- `podium up` sees its child exit (`requeue_jobs_of(conn, worker_name(pid))`), within a second;
- with no supervisor left (the machine vanished), the job's heartbeat lapses
  (`job_monitoring_interval_s` + `job_heartbeat_grace_s`) and the next maintenance pass of any
  surviving worker (`requeue_abandoned`) takes it back.

RQ alone would move an abandoned job through `Job.retry`, which schedules it after the retry
interval and needs the scheduler, whose lock the dead worker may have held for another minute.
Here the job goes straight to the front of its queue, counting as one retry; with no retry
left, RQ's own clean-up fails it (the failure callback marks the asset `errored`).

Each registry entry is claimed with ZREM, so two workers (or a worker and `podium up`) never
requeue the same execution twice.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.executions import Execution
from rq.registry import StartedJobRegistry
from rq.utils import current_timestamp, parse_composite_key
from rq.worker import Worker

from workers import pipeline

log = logging.getLogger(__name__)


def worker_name(pid: int, host: str | None = None) -> str:
    """The RQ name of Podium's worker process ``pid`` on this host: `podium up` knows its
    children's pids, so it can tell which jobs were a dead child's."""
    return f"podium.{host or socket.gethostname()}.{pid}"


def requeue_jobs_of(conn: Redis, name: str) -> list[str]:
    """Requeue every job the (dead) worker ``name`` had started; forget the worker."""

    def of_worker(composite: str, _score: float) -> bool:
        job_id, execution_id = parse_composite_key(composite)
        try:
            return Execution.fetch(execution_id, job_id, conn).worker_name == name
        except ValueError:  # its record expired: the heartbeat path will find it
            return False

    requeued = _requeue(conn, of_worker)
    forget_worker(conn, name)
    return requeued


def requeue_abandoned(conn: Redis) -> list[str]:
    """Requeue started jobs whose heartbeat has lapsed (their worker is gone)."""
    now = current_timestamp()
    return _requeue(conn, lambda _composite, score: score < now)


def forget_worker(conn: Redis, name: str) -> None:
    """Drop a dead worker's registration, so `rq info` and the counts stop listing it."""
    key = Worker.redis_worker_namespace_prefix + name
    worker = Worker.find_by_key(key, connection=conn, serializer=pipeline.SERIALIZER)
    if worker is not None:
        worker.register_death()
    conn.delete(key)


def _requeue(conn: Redis, lost: Callable[[str, float], bool]) -> list[str]:
    requeued: list[str] = []
    for name in pipeline.queue_names():
        queue = pipeline.queue(name, conn)
        registry = StartedJobRegistry(queue=queue)
        entries: list[tuple[bytes, float]] = conn.zrange(  # type: ignore[assignment]
            registry.key, 0, -1, withscores=True)
        for raw, score in entries:
            composite = raw.decode()
            if not lost(composite, score) or not conn.zrem(registry.key, composite):
                continue  # alive, or claimed by someone else meanwhile
            job_id, _ = parse_composite_key(composite)
            try:
                job = pipeline.fetch_job(job_id, conn)
            except NoSuchJobError:
                continue
            if job.retries_left:
                job.retries_left -= 1
                job.started_at = None
                queue.enqueue_job(job, at_front=True)
                log.warning("job %s of a lost worker requeued (%s retries left)",
                            job_id, job.retries_left)
                requeued.append(job_id)
            else:  # out of retries: RQ fails it as abandoned, with the failure callback
                conn.zadd(registry.key, {composite: 0})
                registry.cleanup(timestamp=1)
    return requeued
