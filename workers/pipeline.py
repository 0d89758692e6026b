"""The processing pipeline, declared in one place: queues, job ids, order, retries, timeouts.

upload ──► probe ──► transcode ──► publish            (queue `<prefix>-media`)
                                └─► captions          (queue `<prefix>-captions`)
events (asset.ready, ...) ──► deliver-<delivery id>   (queue `<prefix>-webhooks`)

Captions run beside publishing, on their own queue so caption workers scale apart from
transcode workers; the asset is ready without them unless `captions_block_ready` is set.

Job ids are `<stage>-<asset id>`, so enqueueing twice finds the same job, and jobs are
idempotent: outputs go to deterministic keys and the multivariant playlist is written last.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from rq import Callback, Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from config import get_settings

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 600
"""Download of the source (up to the size limit) plus ffprobe."""
PUBLISH_TIMEOUT_S = 300
TRANSIENT_RETRY = Retry(max=3, interval=[10, 30, 90])
RESULT_TTL_S = 24 * 3600
FAILURE_TTL_S = 30 * 24 * 3600
STAGES = ("probe", "transcode", "publish", "captions")
CAPTIONS_FAILURE_CALLBACK = "workers.captions.on_captions_failure"
TRANSFER_ALLOWANCE_S = 600
"""Added to a job's timeout over its ffmpeg limit: the source download comes first, and
ffmpeg's own (specific) timeout must fire before RQ's generic one."""
SERIALIZER = JSONSerializer
"""Jobs are JSON in Redis, never pickle: unpickling runs code, so whoever could write to Redis
could run it in the workers. Job arguments are strings, bools and None."""
ENQUEUE_LOCK_S = 30
"""Longest one check-and-enqueue may hold its job id's lock (a few Redis round trips)."""
_PENDING = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED)


def queue_prefix() -> str:
    return get_settings().queue_prefix


def media_queue_name() -> str:
    return f"{get_settings().queue_prefix}-media"


def captions_queue_name() -> str:
    return f"{get_settings().queue_prefix}-captions"


def webhooks_queue_name() -> str:
    return f"{get_settings().queue_prefix}-webhooks"


def queue_names() -> list[str]:
    """Every queue, in the order a worker that takes them all serves them (deliveries are
    short: they go first rather than wait behind a transcode)."""
    return [webhooks_queue_name(), media_queue_name(), captions_queue_name()]


def queue(name: str, conn: Redis) -> Queue:
    """An RQ queue of Podium's (JSON jobs); every Queue is made here."""
    return Queue(name, connection=conn, serializer=SERIALIZER)


def fetch_job(jid: str, conn: Redis) -> Job:
    """The job of that id, read as JSON; NoSuchJobError when there is none."""
    return Job.fetch(jid, connection=conn, serializer=SERIALIZER)


def job_id(stage: str, asset_id: str) -> str:
    return f"{stage}-{asset_id}"


def transcode_timeout_s(duration_s: float) -> int:
    """Generous for slow machines: `transcode_timeout_factor` x real time, plus a minute."""
    return int(60 + duration_s * get_settings().transcode_timeout_factor)


def captions_timeout_s(duration_s: float) -> int:
    """Audio extraction plus recognition: `captions_timeout_factor` x real time, plus 2 min."""
    return int(120 + duration_s * get_settings().captions_timeout_factor)


def _enqueue(into: Queue, func: str, asset_id: str, stage: str, timeout: int,
             args: tuple[Any, ...] = (), on_failure: str = "workers.stages.on_job_failure",
             **extra: Any) -> Job:
    jid = job_id(stage, asset_id)
    # Check and enqueue as one step: two callers at once (a probe run twice, an upload and
    # `podium reconcile`) would both find no job and both push it, and it would run twice.
    with into.connection.lock(f"{queue_prefix()}:lock:enqueue:{jid}", timeout=ENQUEUE_LOCK_S,
                              blocking_timeout=ENQUEUE_LOCK_S):
        pending = _pending_or_drop(into.connection, jid)
        if pending is not None:
            return pending  # already queued or running: a second copy would do the work twice
        return into.enqueue(
            func, asset_id, *args, job_id=jid, job_timeout=timeout, retry=TRANSIENT_RETRY,
            result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S,
            on_failure=Callback(on_failure), **extra,
        )


def _pending_or_drop(conn: Redis, jid: str) -> Job | None:
    """The job of that id if it is still to run; an ended one is dropped so it can run again."""
    try:
        job = fetch_job(jid, conn)
    except NoSuchJobError:
        return None
    if job.get_status(refresh=True) in _PENDING:
        return job
    job.delete()
    return None


def start(conn: Redis, asset_id: str) -> Job:
    """First step after an upload: probe and validate."""
    return _enqueue(queue(media_queue_name(), conn), "workers.probe.probe_asset",
                    asset_id, "probe", PROBE_TIMEOUT_S)


def after_probe(conn: Redis, asset_id: str, duration_s: float) -> Job:
    """Transcode, then publish; the timeout is known now that the duration is."""
    media = queue(media_queue_name(), conn)
    transcode = _enqueue(media, "workers.transcode.transcode_asset", asset_id, "transcode",
                         transcode_timeout_s(duration_s) + TRANSFER_ALLOWANCE_S)
    _enqueue(media, "workers.publish.publish_asset", asset_id, "publish", PUBLISH_TIMEOUT_S,
             depends_on=transcode)
    return transcode


def captions(conn: Redis, asset_id: str, duration_s: float, language: str | None = None,
             replace_human: bool = False) -> Job:
    """Speech recognition into a caption track (``language`` None: the asset's language)."""
    return _enqueue(queue(captions_queue_name(), conn),
                    "workers.captions.caption_asset", asset_id, "captions",
                    captions_timeout_s(duration_s) + TRANSFER_ALLOWANCE_S,
                    args=(language, replace_human),
                    on_failure=CAPTIONS_FAILURE_CALLBACK)


def captions_running(conn: Redis, asset_id: str) -> bool:
    """Whether a captions job of the asset is queued or running (one at a time per asset)."""
    try:
        job = fetch_job(job_id("captions", asset_id), conn)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=True) in _PENDING


def cancel_all(conn: Redis, asset_id: str) -> None:
    """Stop queued work of a deleted asset (a job already running notices the tombstone)."""
    for stage in STAGES:
        try:
            job = fetch_job(job_id(stage, asset_id), conn)
        except NoSuchJobError:
            continue
        if job.get_status(refresh=True) in (JobStatus.QUEUED, JobStatus.DEFERRED,
                                            JobStatus.SCHEDULED):
            job.cancel()


DELIVERY_TIMEOUT_S = 120
"""One attempt: resolve, connect and send (seconds, not minutes: the HTTP timeouts are short)."""
DELIVERY_FAILURE_CALLBACK = "workers.webhooks.on_delivery_failure"


def deliver_webhook(conn: Redis, delivery_id: str) -> Job:
    """Deliver one event to one webhook, retried with the `webhook_retry_schedule` backoff
    until a 2xx; once no retry is left the failure callback marks the delivery failed."""
    intervals = get_settings().webhook_retry_intervals
    retry = Retry(max=len(intervals), interval=intervals) if intervals else None
    return queue(webhooks_queue_name(), conn).enqueue(
        "workers.webhooks.deliver", delivery_id, job_id=f"deliver-{delivery_id}",
        job_timeout=DELIVERY_TIMEOUT_S, retry=retry, result_ttl=RESULT_TTL_S,
        failure_ttl=FAILURE_TTL_S, on_failure=Callback(DELIVERY_FAILURE_CALLBACK))


SLATE_TIMEOUT_S = 300


def make_slate(conn: Redis) -> Job:
    """Render the default channel slate (once: the job returns at once when it exists)."""
    jid = f"slate-{queue_prefix()}"
    pending = _pending_or_drop(conn, jid)
    if pending is not None:
        return pending
    return queue(media_queue_name(), conn).enqueue(
        "workers.slate.render_default_slate", job_id=jid, job_timeout=SLATE_TIMEOUT_S,
        retry=TRANSIENT_RETRY, result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S)


def expire_upload(conn: Redis, slot_id: str, when: datetime) -> Job:
    """At the slot's expiry: `timed_out` if still waiting, unfinished transfers aborted."""
    return queue(media_queue_name(), conn).enqueue_at(
        when, "workers.uploads.expire_slot", slot_id, job_id=f"expire-{slot_id}",
        retry=TRANSIENT_RETRY, result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S)


AS_RUN_TIMEOUT_S = 60


def channel_tick(conn: Redis, channel_id: str, at: float) -> Job:
    """Record the channel's as-run log (and `channel.item_started`) at ``at``, a unix time
    when an item starts; the job schedules the next one itself. One job per instant."""
    jid = f"asrun-{channel_id}-{int(at * 1000)}"
    pending = _pending_or_drop(conn, jid)
    if pending is not None:
        return pending
    media = queue(media_queue_name(), conn)
    options: dict[str, Any] = {"job_id": jid, "job_timeout": AS_RUN_TIMEOUT_S,
                               "retry": TRANSIENT_RETRY, "result_ttl": 3600,
                               "failure_ttl": FAILURE_TTL_S}
    when = datetime.fromtimestamp(at, UTC)
    if when <= datetime.now(UTC):
        return media.enqueue("workers.channels.record_as_run", channel_id, **options)
    return media.enqueue_at(when, "workers.channels.record_as_run", channel_id, **options)
