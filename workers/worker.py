"""The RQ worker Podium runs: abandoned jobs are found quickly, and a killed worker takes its
work horse and every ffmpeg with it."""

from __future__ import annotations

import logging
import os

from rq import Queue, Worker

from config import get_settings
from ingest.ffmpeg import set_parent_death_signal
from workers import context, pipeline


class PodiumWorker(Worker):
    """An RQ Worker whose forked children die with it.

    RQ forks a "work horse" per job and a scheduler process; if the worker itself is SIGKILLed
    they would run on as orphans. Every child forked by the worker process sets
    PR_SET_PDEATHSIG, so the kernel kills it with its parent, and ffmpeg (started by the horse
    with the same flag) follows. The job stays in the started registry, its heartbeat lapses,
    and a surviving worker's maintenance pass re-queues it (it has retries left).
    """


_forking_parent = [0]


def _remember_parent() -> None:
    _forking_parent[0] = os.getpid()


def _die_with_parent() -> None:
    set_parent_death_signal()
    if os.getppid() != _forking_parent[0]:  # the worker died before the flag was set
        os._exit(1)


def run_worker(queues: list[str] | None = None, burst: bool = False) -> bool:
    """Run one worker until stopped (or, in burst mode, until the queues are empty)."""
    s = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    os.register_at_fork(before=_remember_parent, after_in_child=_die_with_parent)
    conn = context.redis_connection()
    names = queues or [pipeline.media_queue_name(), pipeline.captions_queue_name()]
    worker = PodiumWorker(
        [Queue(n, connection=conn) for n in names], connection=conn,
        maintenance_interval=s.maintenance_interval_s,
        # An idle worker only runs maintenance (which re-queues abandoned jobs) between two
        # blocking dequeues, each lasting worker_ttl - 15 s: tie that wait to the interval.
        worker_ttl=max(20, s.maintenance_interval_s + 15),
        job_monitoring_interval=s.job_monitoring_interval_s,
    )
    return bool(worker.work(with_scheduler=True, burst=burst, logging_level="INFO"))
