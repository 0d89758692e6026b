"""The RQ worker Podium runs: abandoned jobs are found quickly, and a killed worker takes its
work horse and every ffmpeg with it."""

from __future__ import annotations

import logging
import os

from rq import Queue, Worker
from rq.job import Job

from config import get_settings
from ingest.ffmpeg import set_parent_death_signal
from workers import context, pipeline


class PodiumWorker(Worker):
    """An RQ Worker whose forked work horse dies with it.

    RQ forks a "work horse" per job; if the worker itself is SIGKILLed the horse would run on
    as an orphan. PR_SET_PDEATHSIG makes the kernel kill it, and ffmpeg (started by the horse
    with the same flag) follows. The job stays in the started registry, its heartbeat lapses,
    and a surviving worker's maintenance pass re-queues it (it has retries left).
    """

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        set_parent_death_signal()
        if os.getppid() == 1:  # the worker died before the flag was set
            os._exit(1)
        super().main_work_horse(job, queue)


def run_worker(queues: list[str] | None = None, burst: bool = False) -> bool:
    """Run one worker until stopped (or, in burst mode, until the queues are empty)."""
    s = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
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
