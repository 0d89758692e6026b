"""The RQ worker Podium runs: abandoned jobs are found quickly, and a killed worker takes its
work horse and every ffmpeg with it."""

from __future__ import annotations

import logging

from rq import Worker

from config import get_settings
from runtime import handles
from runtime.process import die_with_forking_parent
from workers import pipeline


class PodiumWorker(Worker):
    """An RQ Worker whose forked children die with it.

    RQ forks a "work horse" per job and a scheduler process; if the worker itself is SIGKILLed
    they would run on as orphans. Every child forked by the worker process sets
    PR_SET_PDEATHSIG, so the kernel kills it with its parent, and ffmpeg (started by the horse
    with the same flag) follows. The job stays in the started registry, its heartbeat lapses,
    and a surviving worker's maintenance pass re-queues it (it has retries left).
    """




def run_worker(queues: list[str] | None = None, burst: bool = False) -> bool:
    """Run one worker until stopped (or, in burst mode, until the queues are empty)."""
    s = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    die_with_forking_parent()
    conn = handles.redis_connection()
    names = queues or pipeline.queue_names()
    worker = PodiumWorker(
        [pipeline.queue(n, conn) for n in names], connection=conn,
        serializer=pipeline.SERIALIZER,
        maintenance_interval=s.maintenance_interval_s,
        # An idle worker only runs maintenance (which re-queues abandoned jobs) between two
        # blocking dequeues, each lasting worker_ttl - 15 s: tie that wait to the interval.
        worker_ttl=max(20, s.maintenance_interval_s + 15),
        job_monitoring_interval=s.job_monitoring_interval_s,
    )
    return bool(worker.work(with_scheduler=True, burst=burst, logging_level="INFO"))
