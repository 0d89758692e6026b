"""LiveLifecycle against the real store (Redis + S3): who may publish, and the events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ingest.events import CollectingSink, EventType
from ingest.lifecycle.live import PUBLISHER_SILENT_S, LiveLifecycle
from ingest.live.errors import StreamKeyInUse, StreamKeyRefused
from ingest.live.models import EndReason, LiveStatus, LiveStream, new_live_stream_id, new_stream_key
from runtime import handles
from tests.conftest import Stack


@pytest.fixture
def live(stack: Stack) -> Iterator[LiveLifecycle]:
    """The lifecycle on the session's store; the streams a test leaves open are ended after
    it: the live workers' watcher would otherwise take them over (each for its reconnect
    window) and keep the live tests' own streams waiting for a worker."""
    store = handles.live_store()
    before = set(store.ids())
    lifecycle = LiveLifecycle(store, CollectingSink())
    yield lifecycle
    for stream_id in set(store.ids()) - before:
        if store.get(stream_id).status != LiveStatus.ENDED:
            lifecycle.end(stream_id, EndReason.DELETED)


def _new(live: LiveLifecycle, window_s: int = 60) -> LiveStream:
    return live.create(LiveStream(id=new_live_stream_id(), title="t", stream_key=new_stream_key(),
                                  reconnect_window_s=window_s, max_duration_s=3600))


def test_publish_disconnect_return_end_with_one_event_each(live: LiveLifecycle) -> None:
    stream = _new(live)
    live.publish(stream.stream_key, "a#1")
    with pytest.raises(StreamKeyInUse):
        live.publish(stream.stream_key, "a#2")
    assert live.publish_done(stream.stream_key, "a#2").status == LiveStatus.ACTIVE  # refused one
    assert live.publish_done(stream.stream_key, "a#1").status == LiveStatus.DISCONNECTED
    live.publish(stream.stream_key, "a#3")
    ended = live.end(stream.id, EndReason.DELETED)
    assert ended.status == LiveStatus.ENDED and len(ended.sessions) == 2
    with pytest.raises(StreamKeyRefused):
        live.publish(stream.stream_key, "a#4")
    assert isinstance(live.sink, CollectingSink)
    assert live.sink.types == [EventType.LIVE_STREAM_ACTIVE, EventType.LIVE_STREAM_DISCONNECTED,
                               EventType.LIVE_STREAM_ACTIVE, EventType.LIVE_STREAM_ENDED]


def test_an_update_before_the_publish_is_saved_does_not_drop_the_publisher(
        live: LiveLifecycle) -> None:
    # nginx asks on_update every 2 s; a loaded API may not have saved on_publish's answer yet
    stream = _new(live)
    live.still_allowed(stream.stream_key, "a#1")
    live.publish(stream.stream_key, "a#1")
    live.still_allowed(stream.stream_key, "a#1")
    with pytest.raises(StreamKeyRefused):
        live.still_allowed(stream.stream_key, "a#9")  # not the publisher on air


def test_a_dropped_publisher_is_refused_at_the_next_update(live: LiveLifecycle) -> None:
    stream = _new(live)
    live.publish(stream.stream_key, "a#1")
    live.drop_publisher(stream.id, "a#1", "unreadable_stream")
    with pytest.raises(StreamKeyRefused):
        live.still_allowed(stream.stream_key, "a#1")


def test_a_publisher_the_rtmp_server_stopped_reporting_is_disconnected_like_publish_done(
        live: LiveLifecycle) -> None:
    stream = _new(live)
    live.publish(stream.stream_key, "a#1")
    assert live.store.last_heard(stream.id) == "a#1"
    assert live.settle(stream.id).status == LiveStatus.ACTIVE

    def long_ago(s: LiveStream) -> None:
        s.sessions[-1].started_at = datetime.now(UTC) - timedelta(seconds=PUBLISHER_SILENT_S + 1)
    live.store.update(stream.id, long_ago)
    live.still_allowed(stream.stream_key, "a#1")  # on_update: heard again
    assert live.settle(stream.id).status == LiveStatus.ACTIVE
    live.store.redis.delete(live.store._heard_key(stream.id))  # the server died: no more
    settled = live.settle(stream.id)
    assert settled.status == LiveStatus.DISCONNECTED and settled.sessions[-1].lost
    assert settled.window_closes_at() is not None
    assert live.settle(stream.id).status == LiveStatus.DISCONNECTED  # once
    with pytest.raises(StreamKeyRefused):  # the lost connection, heard again, reconnects
        live.still_allowed(stream.stream_key, "a#1")
    assert live.publish(stream.stream_key, "a#2").status == LiveStatus.ACTIVE
    assert isinstance(live.sink, CollectingSink)
    assert live.sink.types == [EventType.LIVE_STREAM_ACTIVE, EventType.LIVE_STREAM_DISCONNECTED,
                               EventType.LIVE_STREAM_ACTIVE]
