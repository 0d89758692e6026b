"""Events from the jobs, and the delivery job, run in this process against real Redis, S3,
ffmpeg and a real HTTP receiver: one event per transition whatever runs twice, one signed
attempt per call, the destination checked again at delivery time."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from config import get_settings
from ingest.assets.models import (
    Asset,
    AssetStatus,
    CaptionMode,
    CaptionReview,
    CaptionSource,
    new_asset_id,
)
from ingest.captions.files import Cue
from ingest.captions.store import StoredTrack
from ingest.events import Event, EventType
from ingest.storage import keys
from ingest.webhooks.models import Delivery, DeliveryState, Webhook
from ingest.webhooks.sink import delivery_body
from runtime import handles
from tests.conftest import Stack
from tests.support.media import make_clip
from tests.support.queues import own_queue_prefix
from tests.support.receiver import Receiver, Route, receiver
from workers import captions, pipeline, stages
from workers import probe as probe_job
from workers import publish as publish_job
from workers import transcode as transcode_job
from workers import webhooks as webhook_job


@pytest.fixture
def own_prefix(stack: Stack) -> Iterator[str]:
    """Queues and keys of this test only: the session's worker never takes these jobs."""
    with own_queue_prefix("hooks") as prefix:
        yield prefix
        webhooks = handles.webhook_store()
        for webhook in webhooks.list():  # the bucket is the session's: leave no webhook behind
            webhooks.delete(webhook.id)


@pytest.fixture
def allow_private(own_prefix: str) -> Iterator[None]:
    settings = get_settings()
    settings.webhook_allow_private = True
    yield
    settings.webhook_allow_private = False


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def hook(rx: Receiver, path: str, **route: int) -> Webhook:
    """A webhook stored directly (the API's creation-time check is tested elsewhere)."""
    webhook = handles.webhook_store().create(Webhook(url=rx.url(path)))
    rx.routes[path] = Route(secret=webhook.secret, **route)
    return webhook


def deliveries(webhook: Webhook) -> list[Delivery]:
    return handles.delivery_log().recent(webhook.id)


def new_asset(source: Path | bytes) -> Asset:
    store = handles.asset_store()
    asset = Asset(id=new_asset_id(), title="events", caption_mode=CaptionMode.NONE)
    if isinstance(source, bytes):
        store.storage.put_bytes(keys.source(asset.id), source, "application/octet-stream")
    else:
        store.storage.put_file(keys.source(asset.id), source, "video/mp4")
    return store.create(asset)


def test_each_job_twice_emits_asset_ready_once(own_prefix: str, media_dir: Path,
                                               rx: Receiver) -> None:
    webhook = hook(rx, "/all")
    only_errors = handles.webhook_store().create(
        Webhook(url=rx.url("/errors"), events=[EventType.ASSET_ERRORED]))
    clip = make_clip(media_dir / "events-320x180.mp4", seconds=2)
    asset = new_asset(clip)
    for job, outcome in ((probe_job.probe_asset, "probed"),
                         (transcode_job.transcode_asset, "transcoded"),
                         (publish_job.publish_asset, "ready")):
        assert job(asset.id) == outcome
        assert job(asset.id) in (outcome, "skipped")
    assert publish_job.publish_asset(asset.id) == "skipped"
    # a producer's track, then an edit of it: one captions.ready, and no second asset.ready
    for text in ("First words.", "Edited words."):
        captions.publisher().replace(asset.id, "en", lambda _current, text=text: StoredTrack.of(
            "en", CaptionSource.UPLOAD, CaptionReview.EDITED, [Cue(0.5, 1.5, text)]))
    assert [d.event_type for d in deliveries(webhook)] == [EventType.CAPTIONS_READY,
                                                           EventType.ASSET_READY]
    track_event = json.loads(deliveries(webhook)[0].body)["data"]
    assert track_event["asset_id"] == asset.id and track_event["source"] == "upload"
    delivery = deliveries(webhook)[1]
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == []
    payload = json.loads(delivery.body)
    assert payload["type"] == "asset.ready" and payload["data"]["id"] == asset.id
    assert payload["data"]["status"] == "ready" and payload["data"]["playback"]["hls"]
    assert deliveries(only_errors) == [], "the filter holds back other event types"
    queued = pipeline.queue(pipeline.webhooks_queue_name(), handles.redis_connection())
    assert sorted(queued.job_ids) == sorted(f"deliver-{d.id}" for d in deliveries(webhook))
    # a late failure callback leaves the ready asset (and the event log) alone
    stages.on_job_failure(SimpleNamespace(id="publish-x", retries_left=0, args=[asset.id]),
                          None, RuntimeError, RuntimeError("late"), None)
    assert handles.asset_store().get(asset.id).status == AssetStatus.READY
    assert len(deliveries(webhook)) == 2


def test_bad_media_emits_asset_errored_once(own_prefix: str, rx: Receiver) -> None:
    webhook = hook(rx, "/all")
    asset = new_asset(b"\x00\x00\x00\x18ftypmp42" + secrets.token_bytes(4000))
    assert probe_job.probe_asset(asset.id) == "errored"
    assert probe_job.probe_asset(asset.id) == "skipped"
    stages.on_job_failure(SimpleNamespace(id="probe-x", retries_left=0, args=[asset.id]),
                          None, RuntimeError, RuntimeError("late"), None)
    [delivery] = deliveries(webhook)
    assert delivery.event_type == EventType.ASSET_ERRORED
    data = json.loads(delivery.body)["data"]
    assert data["status"] == "errored" and data["error"]["code"] == "probe_failed"


def test_delivery_retries_keep_the_webhook_id_and_stop_after_success(
        allow_private: None, rx: Receiver) -> None:
    webhook = hook(rx, "/flaky", fail_first=1)
    event = Event(EventType.ASSET_READY, {"id": "as-0123456789abcdef"})
    handles.delivery_log().add(Delivery.of(event, webhook, delivery_body(event)))
    [pending] = deliveries(webhook)
    with pytest.raises(webhook_job.DeliveryFailed):
        webhook_job.deliver(pending.id)
    assert webhook_job.deliver(pending.id) == "succeeded"
    assert webhook_job.deliver(pending.id) == "succeeded"  # nothing sent again
    got = rx.at("/flaky")
    assert [r.answered for r in got] == [500, 204]
    assert all(r.verified for r in got)
    assert {r.msg_id for r in got} == {event.id}
    [done] = deliveries(webhook)
    assert done.state == DeliveryState.SUCCEEDED
    assert [a.status_code for a in done.attempts] == [500, 204]


def test_destination_checked_again_at_delivery_time(own_prefix: str, rx: Receiver) -> None:
    """Allowed when created (e.g. DNS answered a public address then); private now: refused
    without a request, and failed for good (no retry)."""
    assert get_settings().webhook_allow_private is False
    webhook = hook(rx, "/private")
    event = Event(EventType.ASSET_READY, {"id": "as-0123456789abcdef"})
    handles.delivery_log().add(Delivery.of(event, webhook, delivery_body(event)))
    [pending] = deliveries(webhook)
    assert webhook_job.deliver(pending.id) == "failed"
    assert rx.at("/private") == []
    [failed] = deliveries(webhook)
    assert failed.state == DeliveryState.FAILED
    assert failed.attempts[0].error and "non-public" in failed.attempts[0].error


def test_retries_exhausted_end_the_delivery_failed(allow_private: None, rx: Receiver) -> None:
    webhook = hook(rx, "/down", always=503)
    event = Event(EventType.CAPTIONS_READY, {"asset_id": "as-0123456789abcdef"})
    handles.delivery_log().add(Delivery.of(event, webhook, delivery_body(event)))
    [pending] = deliveries(webhook)
    job = SimpleNamespace(id=f"deliver-{pending.id}", retries_left=1, args=[pending.id])
    with pytest.raises(webhook_job.DeliveryFailed) as exc:
        webhook_job.deliver(pending.id)
    webhook_job.on_delivery_failure(job, None, webhook_job.DeliveryFailed, exc.value, None)
    assert deliveries(webhook)[0].state == DeliveryState.PENDING, "a retry is left"
    job.retries_left = 0
    webhook_job.on_delivery_failure(job, None, webhook_job.DeliveryFailed, exc.value, None)
    [failed] = deliveries(webhook)
    assert failed.state == DeliveryState.FAILED
    assert [a.status_code for a in failed.attempts] == [503]


def test_webhooks_survive_a_redis_flush(own_prefix: str) -> None:
    store = handles.webhook_store()
    made = store.create(Webhook(url="https://hooks.example/a", events=[EventType.ASSET_READY]))
    conn = handles.redis_connection()
    for key in conn.scan_iter(match=f"{own_prefix}:*"):
        conn.delete(key)
    assert made in store.list()
    assert store.get(made.id) == made
    store.delete(made.id)
    for key in conn.scan_iter(match=f"{own_prefix}:*"):
        conn.delete(key)
    assert made.id not in {w.id for w in store.list()}
