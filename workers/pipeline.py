"""The processing pipeline, declared in one place: queues, job ids, order, retries, timeouts.

upload ──► probe ──► transcode ──► publish            (queue `<prefix>-media`)
                                └─► captions          (queue `<prefix>-captions`)

A source longer than `chunked_min_duration_s`: the transcode job (per-title analysis) splits
the video work instead of encoding it (workers/chunks.py):

transcode ──► chunk-<id>-00000 … chunk-<id>-NNNNN ─┐  (any workers, side by side)
          └─► audio-<id> ──────────────────────────┴─► stitch ──► publish
events (asset.ready, ...) ──► deliver-<delivery id>   (queue `<prefix>-webhooks`)

Captions run beside publishing, on their own queue so caption workers scale apart from
transcode workers; the asset is ready without them unless `captions_block_ready` is set.

Job ids are `<stage>-<asset id>`, so enqueueing twice finds the same job, and jobs are
idempotent: outputs go to deterministic keys and the multivariant playlist is written last.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.lock import Lock
from rq import Callback, Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Dependency, Job, JobStatus
from rq.serializers import JSONSerializer

from config import get_settings
from ingest.assets.models import AssetStatus
from ingest.assets.store import AssetStore
from ingest.errors import NotFound
from ingest.live import lease as leases
from ingest.media import chunk_plan
from runtime import logs

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 600
"""Download of the source (up to the size limit) plus ffprobe."""
PUBLISH_TIMEOUT_S = 300
RESULT_TTL_S = 24 * 3600
FAILURE_TTL_S = 30 * 24 * 3600
STAGES = ("probe", "transcode", "audio", "stitch", "publish", "captions")
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


def job_meta() -> dict[str, str]:
    """Carried by every job: the request id of the request (or the job) that queued it, which
    the worker binds to the job's log lines."""
    request_id = logs.current_request_id()
    return {"request_id": request_id} if request_id else {}


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
    short: they go first rather than wait behind a transcode). Live streams have workers of
    their own (`podium worker --live`): a live job lasts as long as its stream."""
    return [webhooks_queue_name(), media_queue_name(), captions_queue_name()]


def queue(name: str, conn: Redis) -> Queue:
    """An RQ queue of Podium's (JSON jobs); every Queue is made here."""
    return Queue(name, connection=conn, serializer=SERIALIZER)


def fetch_job(jid: str, conn: Redis) -> Job:
    """The job of that id, read as JSON; NoSuchJobError when there is none."""
    return Job.fetch(jid, connection=conn, serializer=SERIALIZER)


def transient_retry() -> Retry:
    """RQ's retries of a transiently failed job: one per `job_retry_intervals_s` value."""
    intervals = get_settings().job_retry_intervals
    return Retry(max=len(intervals), interval=intervals)


def job_id(stage: str, asset_id: str) -> str:
    return f"{stage}-{asset_id}"


def transcode_timeout_s(duration_s: float) -> int:
    """Generous for slow machines: `transcode_timeout_factor` x real time, plus a minute."""
    return int(60 + duration_s * get_settings().transcode_timeout_factor)


def captions_timeout_s(duration_s: float) -> int:
    """Audio extraction plus recognition: `captions_timeout_factor` x real time, plus 2 min."""
    return int(120 + duration_s * get_settings().captions_timeout_factor)


def chunk_job_id(asset_id: str, index: int) -> str:
    return f"chunk-{asset_id}-{index:05d}"


def _enqueue(into: Queue, func: str, asset_id: str, stage: str, timeout: int,
             args: tuple[Any, ...] = (), on_failure: str = "workers.stages.on_job_failure",
             jid: str | None = None, **extra: Any) -> Job:
    jid = jid or job_id(stage, asset_id)
    # Check and enqueue as one step: two callers at once (a probe run twice, an upload and
    # `podium reconcile`) would both find no job and both push it, and it would run twice.
    with into.connection.lock(f"{queue_prefix()}:lock:enqueue:{jid}", timeout=ENQUEUE_LOCK_S,
                              blocking_timeout=ENQUEUE_LOCK_S):
        pending = _pending_or_drop(into.connection, jid)
        if pending is not None:
            return pending  # already queued or running: a second copy would do the work twice
        return into.enqueue(
            func, asset_id, *args, job_id=jid, job_timeout=timeout, retry=transient_retry(),
            result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S,
            on_failure=Callback(on_failure), meta=job_meta(), **extra,
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


def after_probe(conn: Redis, asset_id: str, duration_s: float,
                owner: str | None = None) -> Job | None:
    """Transcode, then publish; the timeout is known now that the duration is.

    An ``owner`` (producer key) with `max_transcodes_per_key` transcodes queued or running
    already gets None: the asset waits outside the queue, and the end of one of that owner's
    transcodes (`transcode_ended`) queues it. RQ takes jobs first come, first served and knows
    nothing of owners, so the limit is kept where jobs enter the queue, not where they leave.
    """
    if owner is None:
        return _transcode_then_publish(conn, asset_id, duration_s)
    with _owner_lock(conn, owner):  # admitted and queued in one step
        if not _admit(conn, owner, asset_id):
            return None
        return _transcode_then_publish(conn, asset_id, duration_s)


def _transcode_then_publish(conn: Redis, asset_id: str, duration_s: float) -> Job:
    media = queue(media_queue_name(), conn)
    transcode = _enqueue(media, "workers.transcode.transcode_asset", asset_id, "transcode",
                         transcode_timeout_s(duration_s) + TRANSFER_ALLOWANCE_S)
    if not chunk_plan.is_chunked(duration_s, get_settings().chunked_min_duration_s):
        # chunked: the transcode job queues publish behind the stitch (chunked_transcode)
        _enqueue(media, "workers.publish.publish_asset", asset_id, "publish", PUBLISH_TIMEOUT_S,
                 depends_on=transcode)
    return transcode


def chunked_transcode(conn: Redis, asset_id: str, duration_s: float, chunks: int) -> Job:
    """The video in ``chunks`` jobs that any worker may take, the audio in one, then the
    stitch once all of them succeeded (RQ Dependency, allow_failure=False; at the front of
    the queue, so the asset does not wait behind work queued meanwhile), then publish.
    Returns the stitch job. Queueing again finds the jobs still to run (same ids)."""
    s = get_settings()
    media = queue(media_queue_name(), conn)
    chunk_timeout = transcode_timeout_s(s.chunk_duration_s) + TRANSFER_ALLOWANCE_S
    whole_timeout = transcode_timeout_s(duration_s) + TRANSFER_ALLOWANCE_S
    # the audio first: it is short, and done beside the chunks it is off the critical path
    pieces = [_enqueue(media, "workers.chunks.encode_audio", asset_id, "audio", whole_timeout)]
    pieces += [_enqueue(media, "workers.chunks.encode_chunk", asset_id, "chunk", chunk_timeout,
                        args=(index,), jid=chunk_job_id(asset_id, index))
               for index in range(chunks)]
    stitch = _enqueue(media, "workers.chunks.stitch_asset", asset_id, "stitch", whole_timeout,
                      args=(chunks,), depends_on=Dependency(
                          jobs=pieces, allow_failure=False, enqueue_at_front=True))
    _enqueue(media, "workers.publish.publish_asset", asset_id, "publish", PUBLISH_TIMEOUT_S,
             depends_on=stitch)
    return stitch


def _transcoding_key(owner: str) -> str:
    return f"{queue_prefix()}:transcoding:{owner}"


def _waiting_key(owner: str) -> str:
    return f"{queue_prefix()}:transcode-waiting:{owner}"


def _owner_lock(conn: Redis, owner: str) -> Lock:
    return conn.lock(f"{queue_prefix()}:lock:transcoding:{owner}", timeout=ENQUEUE_LOCK_S,
                     blocking_timeout=ENQUEUE_LOCK_S)


def _transcoding(conn: Redis, owner: str, ended: str | None = None) -> set[str]:
    """The owner's assets whose transcode is queued or running; entries whose job ended (or is
    ``ended``, a job returning right now) are dropped, so a lost release heals itself."""
    key = _transcoding_key(owner)
    live = set()
    for asset_id in _members(conn, key):
        if asset_id != ended and (_is_pending(conn, job_id("transcode", asset_id))
                                  or _is_pending(conn, job_id("stitch", asset_id))):
            live.add(asset_id)
        else:
            conn.zrem(key, asset_id)
    return live


def _members(conn: Redis, key: str) -> list[str]:
    """A sorted set's members, oldest (lowest score) first."""
    raw: list[bytes] = conn.zrange(key, 0, -1)  # type: ignore[assignment]
    return [m.decode() for m in raw]


def _is_pending(conn: Redis, jid: str) -> bool:
    try:
        return fetch_job(jid, conn).get_status(refresh=True) in _PENDING
    except NoSuchJobError:
        return False


def _admit(conn: Redis, owner: str, asset_id: str) -> bool:
    """Whether the asset's transcode may be queued now; if not, it waits its owner's turn.
    Called under the owner's lock."""
    live = _transcoding(conn, owner)
    if asset_id in live or len(live) < get_settings().max_transcodes_per_key:
        conn.zadd(_transcoding_key(owner), {asset_id: time.time()})
        conn.zrem(_waiting_key(owner), asset_id)
        return True
    conn.zadd(_waiting_key(owner), {asset_id: time.time()}, nx=True)
    return False


def transcode_ended(conn: Redis, store: AssetStore, owner: str, asset_id: str) -> list[str]:
    """One transcode of ``owner`` is over (done, errored, deleted, out of retries): queue the
    transcodes waiting their turn, oldest first, skipping assets that no longer need one.
    Returns the assets queued."""

    def durations(waiting_id: str) -> float | None:
        try:
            asset = store.get(waiting_id)
        except NotFound:
            return None
        if asset.status != AssetStatus.PREPARING or asset.source is None:
            return None
        return asset.source.duration_s

    queued: list[str] = []
    with _owner_lock(conn, owner):
        live = _transcoding(conn, owner, ended=asset_id)
        room = get_settings().max_transcodes_per_key - len(live)
        for waiting_id in _members(conn, _waiting_key(owner)):
            if room <= 0:
                break
            conn.zrem(_waiting_key(owner), waiting_id)
            duration = durations(waiting_id)
            if duration is None:
                continue
            conn.zadd(_transcoding_key(owner), {waiting_id: time.time()})
            _transcode_then_publish(conn, waiting_id, duration)
            queued.append(waiting_id)
            room -= 1
    return queued


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
        failure_ttl=FAILURE_TTL_S, on_failure=Callback(DELIVERY_FAILURE_CALLBACK),
        meta=job_meta())


SLATE_TIMEOUT_S = 300


def make_slate(conn: Redis) -> Job:
    """Render the default channel slate (once: the job returns at once when it exists)."""
    jid = f"slate-{queue_prefix()}"
    pending = _pending_or_drop(conn, jid)
    if pending is not None:
        return pending
    return queue(media_queue_name(), conn).enqueue(
        "workers.slate.render_default_slate", job_id=jid, job_timeout=SLATE_TIMEOUT_S,
        retry=transient_retry(), result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S,
        meta=job_meta())


def not_before(when: datetime) -> datetime:
    """``when`` rounded up to a whole second: RQ scores a scheduled job in whole seconds,
    rounded down, so a job for 12.6 s would run at 12 s, before what it is for (an item's
    start, a slot's expiry, the end of a reconnect window) has happened, and find nothing to do."""
    return datetime.fromtimestamp(math.ceil(when.timestamp()), UTC)


def expire_upload(conn: Redis, slot_id: str, when: datetime) -> Job:
    """At the slot's expiry: `timed_out` if still waiting, unfinished transfers aborted."""
    return queue(media_queue_name(), conn).enqueue_at(
        not_before(when), "workers.uploads.expire_slot", slot_id, job_id=f"expire-{slot_id}",
        retry=transient_retry(), result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S,
        meta=job_meta())


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
                               "retry": transient_retry(), "result_ttl": 3600,
                               "failure_ttl": FAILURE_TTL_S, "meta": job_meta()}
    if at <= time.time():
        return media.enqueue("workers.channels.record_as_run", channel_id, **options)
    return media.enqueue_at(not_before(datetime.fromtimestamp(at, UTC)),
                            "workers.channels.record_as_run", channel_id, **options)


def channel_cut(conn: Redis, channel_id: str, stream_id: str, at: datetime) -> Job:
    """At ``at``: cut the channel to the live stream (workers.channels.cut_at)."""
    jid = f"asrun-{channel_id}-cut-{stream_id}-{int(at.timestamp() * 1000)}"
    return queue(media_queue_name(), conn).enqueue_at(
        not_before(at), "workers.channels.cut_at", channel_id, stream_id, at.isoformat(),
        job_id=jid, job_timeout=AS_RUN_TIMEOUT_S, retry=transient_retry(), result_ttl=3600,
        failure_ttl=FAILURE_TTL_S, meta=job_meta())


def channel_cut_retry(conn: Redis, channel_id: str, stream_id: str, at: datetime,
                      when: float) -> Job:
    """Try a cut set for ``at`` again at ``when`` (its stream had not started)."""
    jid = f"asrun-{channel_id}-cut-{stream_id}-{int(at.timestamp() * 1000)}-{int(when)}"
    return queue(media_queue_name(), conn).enqueue_at(
        not_before(datetime.fromtimestamp(when, UTC)), "workers.channels.cut_at", channel_id,
        stream_id, at.isoformat(), job_id=jid, job_timeout=AS_RUN_TIMEOUT_S,
        retry=transient_retry(), result_ttl=3600, failure_ttl=FAILURE_TTL_S, meta=job_meta())


def settle_cuts(conn: Redis, stream_id: str) -> Job:
    """A live stream ended: channels cut to it write down the queue's return."""
    jid = f"live-{stream_id}-settle"
    pending = _pending_or_drop(conn, jid)
    if pending is not None:
        return pending
    return queue(media_queue_name(), conn).enqueue(
        "workers.channels.settle_cuts", stream_id, job_id=jid, job_timeout=AS_RUN_TIMEOUT_S,
        retry=transient_retry(), result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S,
        meta=job_meta())


def live_queue_name() -> str:
    return f"{get_settings().queue_prefix}-live"


LIVE_START_GRACE_S = 15
"""A live job that started this recently may not hold its lease yet (fork, first Redis call)."""


def _live_job_key(stream_id: str) -> str:
    return f"{queue_prefix()}:live-job:{stream_id}"


def ensure_live_transcoder(conn: Redis, stream_id: str) -> Job | None:
    """Queue the stream's live transcoder unless one holds its lease or is about to.

    Called when a stream goes active and at every on_update of its publisher: a worker that
    died lets its lease lapse within seconds, and the next call queues a job (new id, the old
    one is still "started" in RQ's books) that takes the stream over."""
    if leases.held(conn, queue_prefix(), stream_id):
        return None
    with conn.lock(f"{queue_prefix()}:lock:enqueue:live-{stream_id}", timeout=ENQUEUE_LOCK_S,
                   blocking_timeout=ENQUEUE_LOCK_S):
        last: bytes | None = conn.get(_live_job_key(stream_id))  # type: ignore[assignment]
        if last:
            try:
                job = fetch_job(last.decode(), conn)
                status = job.get_status(refresh=True)
                recent = job.started_at is not None and (
                    datetime.now(UTC) - job.started_at.replace(tzinfo=UTC)
                ).total_seconds() < LIVE_START_GRACE_S
                if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED) or (
                        status == JobStatus.STARTED and recent):
                    return job
            except NoSuchJobError:
                pass
        jid = f"live-{stream_id}-{int(time.time() * 1000)}"
        settings = get_settings()
        job = queue(live_queue_name(), conn).enqueue(
            "workers.live.transcode_live", stream_id, job_id=jid,
            job_timeout=int(settings.live_max_duration_s + settings.live_reconnect_window_s
                            + 1800),
            result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S, meta=job_meta())
        conn.set(_live_job_key(stream_id), jid, ex=7 * 24 * 3600)
        return job


def end_live_window(conn: Redis, stream_id: str, when: datetime) -> Job:
    """At the end of a disconnected stream's reconnect window: `ended` unless it came back.
    One job per disconnection (the id carries the instant)."""
    jid = f"live-window-{stream_id}-{int(when.timestamp() * 1000)}"
    pending = _pending_or_drop(conn, jid)
    if pending is not None:
        return pending
    return queue(media_queue_name(), conn).enqueue_at(
        not_before(when), "workers.live.end_if_window_passed", stream_id, job_id=jid,
        retry=transient_retry(), result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S,
        meta=job_meta())


RECORDING_TIMEOUT_S = 1800


def record_live(conn: Redis, stream_id: str) -> Job:
    """Make the ended stream's recording an asset (once: the job returns when it exists)."""
    jid = f"record-{stream_id}"
    pending = _pending_or_drop(conn, jid)
    if pending is not None:
        return pending
    return queue(media_queue_name(), conn).enqueue(
        "workers.live.record_live", stream_id, job_id=jid, job_timeout=RECORDING_TIMEOUT_S,
        retry=transient_retry(), result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S)
