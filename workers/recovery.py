"""Recovery after Redis was lost or workers died: rebuild the index, re-queue unfinished work."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import JobStatus

from ingest.assets.models import Asset
from ingest.assets.store import AssetStore
from ingest.channels.store import ChannelStore
from ingest.live.store import LiveStreamStore
from ingest.uploads.slots import SlotStore
from workers import pipeline

_ALIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


@dataclass
class ReconcileReport:
    indexed: int = 0
    requeued: list[str] = field(default_factory=list)
    channels: int = 0
    uploads: int = 0
    live_streams: int = 0


def _has_live_job(conn: Redis, asset_id: str) -> bool:
    for stage in pipeline.STAGES:
        try:
            job = pipeline.fetch_job(pipeline.job_id(stage, asset_id), conn)
        except NoSuchJobError:
            continue
        if job.get_status(refresh=True) in _ALIVE:
            return True
    return False


def requeue(conn: Redis, asset: Asset) -> None:
    """Resume from the last finished stage: probe again, or transcode + publish."""
    if asset.source is None:
        pipeline.start(conn, asset.id)
    else:
        pipeline.after_probe(conn, asset.id, asset.source.duration_s, owner=asset.owner)


def reconcile(store: AssetStore, conn: Redis, channels: ChannelStore | None = None,
              slots: SlotStore | None = None,
              live: LiveStreamStore | None = None) -> ReconcileReport:
    """Re-index assets (re-queue the unfinished ones), channel documents, upload slots
    (their expiry scheduled again) and live streams from the bucket."""
    unfinished = store.rebuild_index()
    report = ReconcileReport(indexed=int(conn.zcard(f"{pipeline.queue_prefix()}:assets")))
    for asset in unfinished:
        if not _has_live_job(conn, asset.id):
            requeue(conn, asset)
            report.requeued.append(asset.id)
    if channels is not None:
        report.channels = channels.rebuild_index()
    if slots is not None:
        waiting = slots.rebuild_index()
        for slot in waiting:
            pipeline.expire_upload(conn, slot.id, slot.expires_at)
        report.uploads = int(conn.zcard(f"{pipeline.queue_prefix()}:uploads"))
    if live is not None:
        report.live_streams = live.rebuild_index()
    return report
