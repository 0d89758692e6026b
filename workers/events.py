"""The event sink and the lifecycle every process uses (API routes and jobs alike).

Events become webhook deliveries queued on `<prefix>-webhooks` (workers.pipeline). This lives
here rather than in runtime.handles because the delivery queue is declared in workers.pipeline,
which the shared handles may not import (import-linter's layers).
"""

from __future__ import annotations

from config import get_settings
from ingest.lifecycle.assets import AssetLifecycle
from ingest.lifecycle.live import LiveLifecycle
from ingest.lifecycle.uploads import SlotLifecycle
from ingest.live import lease as leases
from ingest.live.models import LiveStatus, LiveStream
from ingest.webhooks.sink import WebhookSink
from runtime import handles
from workers import pipeline


def _enqueue_delivery(delivery_id: str) -> None:
    pipeline.deliver_webhook(handles.redis_connection(), delivery_id)


def event_sink() -> WebhookSink:
    """Every event → one queued delivery per webhook that wants it."""
    return WebhookSink(handles.webhook_store(), handles.delivery_log(), _enqueue_delivery)


def asset_lifecycle() -> AssetLifecycle:
    """Status changes of assets and caption tracks, announced to ``event_sink``."""
    return AssetLifecycle(handles.asset_store(), event_sink(), get_settings().public_url)


def slot_lifecycle() -> SlotLifecycle:
    """Status changes of upload slots (`upload.asset_created`), announced to ``event_sink``."""
    return SlotLifecycle(handles.slot_store(), event_sink())


def _after_live_change(stream: LiveStream) -> None:
    """Schedule what a live stream's new status calls for."""
    conn = handles.redis_connection()
    closes = stream.window_closes_at()
    if stream.status == LiveStatus.DISCONNECTED and closes is not None:
        pipeline.end_live_window(conn, stream.id, closes)
    if stream.status == LiveStatus.ACTIVE:
        pipeline.ensure_live_transcoder(conn, stream.id)
    if stream.status == LiveStatus.ENDED and not leases.held(
            conn, get_settings().queue_prefix, stream.id):
        # no transcoder left to finish the stream (it queues the recording itself otherwise)
        pipeline.record_live(conn, stream.id)


def live_lifecycle() -> LiveLifecycle:
    """Status changes of live streams (`live_stream.*`), announced to ``event_sink``."""
    return LiveLifecycle(handles.live_store(), event_sink(), on_change=_after_live_change)
