"""The RQ worker Podium runs: abandoned jobs are found quickly, and a killed worker takes its
work horse and every ffmpeg with it."""

from __future__ import annotations

import os
import re
import time

from rq import Queue, Retry, Worker
from rq.exceptions import DeserializationError
from rq.job import Job

from config import get_settings
from runtime import handles, logs
from runtime.process import die_with_forking_parent
from workers import live_watch, lost, metrics, pipeline, transcode

SUBJECT_FIELD = {"probe": "asset_id", "transcode": "asset_id", "publish": "asset_id",
                 "chunk": "asset_id", "audio": "asset_id", "stitch": "asset_id",
                 "captions": "asset_id", "deliver": "delivery_id", "expire": "slot_id",
                 "asrun": "channel_id", "live": "stream_id"}
"""What the first argument of each kind of job (its id's first word) names, for the logs."""
_WORD = re.compile(r"[a-z][a-z_]{0,23}")


class PodiumWorker(Worker):
    """An RQ Worker whose forked children die with it.

    RQ forks a "work horse" per job and a scheduler process; if the worker itself is SIGKILLed
    they would run on as orphans. Every child forked by the worker process sets
    PR_SET_PDEATHSIG, so the kernel kills it with its parent, and ffmpeg (started by the horse
    with the same flag) follows. Its started jobs are requeued at once by `podium up`
    (workers.lost), or, with no supervisor left, once their heartbeat lapses, by a surviving
    worker's maintenance pass.

    In the work horse, each job runs with its request id (from the job's meta) and its subject
    (asset, channel, ...) bound to every log line, and ends with its duration and outcome
    recorded in Redis (workers.metrics).
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

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Runs in the worker, around the fork: its own lines about the job (a horse killed, a
        timeout) and the horse's carry the job's ids too."""
        with logs.bound(**job_log_fields(job)):
            super().execute_job(job, queue)

    def perform_job(self, job: Job, queue: Queue) -> bool:
        started = time.monotonic()
        with logs.bound(**job_log_fields(job)):
            ok = super().perform_job(job, queue)
            metrics.RECORDER.observe(metrics.JOB_SECONDS, time.monotonic() - started,
                                     job_stage(job.id), job_outcome(job, ok))
            metrics.RECORDER.flush(self.connection)
        return ok


def job_log_fields(job: Job) -> dict[str, str | None]:
    """The request id that queued the job, its id and its subject (asset, channel, ...)."""
    fields = {"request_id": (job.meta or {}).get("request_id"), "job_id": job.id}
    subject = SUBJECT_FIELD.get(job_stage(job.id))
    try:
        args = job.args
    except DeserializationError:  # not ours to read here: RQ fails the job when it runs it
        return fields
    if subject and args:
        fields[subject] = str(args[0])
    return fields


def job_stage(job_id: str) -> str:
    """The job's kind from its id (`transcode-<asset>`, `deliver-<delivery>`, ...)."""
    word = job_id.split("-", 1)[0]
    return word if _WORD.fullmatch(word) else "other"


def job_outcome(job: Job, ok: bool) -> str:
    """`failed` when it raised (RQ retries it or gives up), else what the job returned when it
    is a word (`ready`, `errored`, `skipped`, `gone`, `succeeded`, ...), else `ok`."""
    if not ok:
        return "failed"
    result = getattr(job, "_result", None)
    if isinstance(result, Retry):
        return "retry"
    return result if isinstance(result, str) and _WORD.fullmatch(result) else "ok"


def run_worker(queues: list[str] | None = None, burst: bool = False) -> bool:
    """Run one worker until stopped (or, in burst mode, until the queues are empty)."""
    s = get_settings()
    logs.configure(s.log_format, s.log_level)
    die_with_forking_parent()
    transcode.video_encoder()  # detected once, before the work horses fork
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
    if pipeline.live_queue_name() in names:
        live_watch.start()  # streams nobody else looks at (workers.live_watch)
    return bool(worker.work(with_scheduler=True, burst=burst, logging_level="INFO"))
