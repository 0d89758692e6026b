"""The processing pipeline, declared in one place: queues, job ids, order, retries, timeouts.

upload ──► probe ──► transcode ──► publish            (queue `<prefix>-media`)
                                └─► captions          (queue `<prefix>-captions`, issue 3)

Job ids are `<stage>-<asset id>`, so enqueueing twice finds the same job, and jobs are
idempotent: outputs go to deterministic keys and the multivariant playlist is written last.
"""

from __future__ import annotations

import logging
from typing import Any

from redis import Redis
from rq import Callback, Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from config import get_settings

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 600
"""Download of the source (up to the size limit) plus ffprobe."""
PUBLISH_TIMEOUT_S = 300
TRANSIENT_RETRY = Retry(max=3, interval=[10, 30, 90])
RESULT_TTL_S = 24 * 3600
FAILURE_TTL_S = 30 * 24 * 3600
STAGES = ("probe", "transcode", "publish")


def queue_prefix() -> str:
    return get_settings().queue_prefix


def media_queue_name() -> str:
    return f"{get_settings().queue_prefix}-media"


def captions_queue_name() -> str:
    return f"{get_settings().queue_prefix}-captions"


def job_id(stage: str, asset_id: str) -> str:
    return f"{stage}-{asset_id}"


def transcode_timeout_s(duration_s: float) -> int:
    """Generous for slow machines: `transcode_timeout_factor` x real time, plus a minute."""
    return int(60 + duration_s * get_settings().transcode_timeout_factor)


def _enqueue(queue: Queue, func: str, asset_id: str, stage: str, timeout: int,
             **extra: Any) -> Job:
    jid = job_id(stage, asset_id)
    _drop_finished(queue.connection, jid)
    return queue.enqueue(
        func, asset_id, job_id=jid, job_timeout=timeout, retry=TRANSIENT_RETRY,
        result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S,
        on_failure=Callback("workers.jobs.on_job_failure"), **extra,
    )


def _drop_finished(conn: Redis, jid: str) -> None:
    """A re-run (reconcile, retry by hand) replaces an old finished/failed job of the same id."""
    try:
        job = Job.fetch(jid, connection=conn)
    except NoSuchJobError:
        return
    if job.get_status(refresh=True) in (JobStatus.FINISHED, JobStatus.FAILED,
                                        JobStatus.CANCELED, JobStatus.STOPPED):
        job.delete()


def start(conn: Redis, asset_id: str) -> Job:
    """First step after an upload: probe and validate."""
    return _enqueue(Queue(media_queue_name(), connection=conn), "workers.jobs.probe_asset",
                    asset_id, "probe", PROBE_TIMEOUT_S)


def after_probe(conn: Redis, asset_id: str, duration_s: float) -> Job:
    """Transcode, then publish; the timeout is known now that the duration is."""
    queue = Queue(media_queue_name(), connection=conn)
    transcode = _enqueue(queue, "workers.jobs.transcode_asset", asset_id, "transcode",
                         transcode_timeout_s(duration_s))
    _enqueue(queue, "workers.jobs.publish_asset", asset_id, "publish", PUBLISH_TIMEOUT_S,
             depends_on=transcode)
    return transcode


def cancel_all(conn: Redis, asset_id: str) -> None:
    """Stop queued work of a deleted asset (a job already running notices the tombstone)."""
    for stage in (*STAGES, "captions"):
        try:
            job = Job.fetch(job_id(stage, asset_id), connection=conn)
        except NoSuchJobError:
            continue
        if job.get_status(refresh=True) in (JobStatus.QUEUED, JobStatus.DEFERRED,
                                            JobStatus.SCHEDULED):
            job.cancel()
