"""The RQ worker Podium runs: abandoned jobs are found quickly, and a killed worker takes its
work horse and every ffmpeg with it."""

from __future__ import annotations

import logging
import os

from rq import Worker
from rq.job import Job

from config import get_settings
from runtime import handles
from runtime.process import die_with_forking_parent
from workers import lost, pipeline


class PodiumWorker(Worker):
    """An RQ Worker whose forked children die with it.

    RQ forks a "work horse" per job and a scheduler process; if the worker itself is SIGKILLed
    they would run on as orphans. Every child forked by the worker process sets
    PR_SET_PDEATHSIG, so the kernel kills it with its parent, and ffmpeg (started by the horse
    with the same flag) follows. Its started jobs are requeued at once by `podium up`
    (workers.lost), or, with no supervisor left, once their heartbeat lapses, by a surviving
    worker's maintenance pass.
    """

    heartbeat_grace_s = 15
    """How late a job's heartbeat may be before the job counts as abandoned."""

    def get_heartbeat_ttl(self, job: Job) -> int:
        # RQ adds a fixed 60 s to the monitoring interval: a vanished machine would then hold
        # its jobs for 70 s before maintenance even looks. A shorter, configurable grace.
        ttl = super().get_heartbeat_ttl(job) - 60
        return int(ttl + self.heartbeat_grace_s)

    def run_maintenance_tasks(self) -> None:
        # Before RQ's own clean-up (which would only schedule the job after its retry interval)
        requeued = lost.requeue_abandoned(self.connection)
        if requeued:
            self.log.warning("Worker %s: requeued abandoned jobs %s", self.name, requeued)
        super().run_maintenance_tasks()


def run_worker(queues: list[str] | None = None, burst: bool = False) -> bool:
    """Run one worker until stopped (or, in burst mode, until the queues are empty)."""
    s = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    die_with_forking_parent()
    conn = handles.redis_connection()
    names = queues or pipeline.queue_names()
    worker = PodiumWorker(
        [pipeline.queue(n, conn) for n in names], connection=conn,
        serializer=pipeline.SERIALIZER, name=lost.worker_name(os.getpid()),
        maintenance_interval=s.maintenance_interval_s,
        # An idle worker only runs maintenance between two blocking dequeues, each lasting
        # worker_ttl - 15 s: half the interval, so a pass is never late by a whole one.
        worker_ttl=15 + max(5, s.maintenance_interval_s // 2),
        job_monitoring_interval=s.job_monitoring_interval_s,
    )
    worker.heartbeat_grace_s = s.job_heartbeat_grace_s
    return bool(worker.work(with_scheduler=True, burst=burst, logging_level="INFO"))
