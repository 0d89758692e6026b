"""The lifecycle of a live stream: the only code that changes its status.

    idle ──► active ◄──► disconnected          live_stream.active / live_stream.disconnected
      │        │              │
      └────────┴──────────────┴──► ended        live_stream.ended

The RTMP server asks before a publisher may start (``publish``), tells when it stops
(``publish_done``) and asks again every few seconds while it publishes (``still_allowed``):
a wrong, revoked or ended key is refused, and so is a second publisher while the first is on.
Each of those asks is a heartbeat: an RTMP server that dies or restarts never sends
publish_done, so ``settle`` disconnects a publisher it has not reported for
``PUBLISHER_SILENT_S``, exactly as publish_done would. `disconnected` keeps the key open for
the stream's reconnect window; ``expire_if_due`` (and ``settle``) end it once the window has
passed. Every change runs inside ``LiveStreamStore.update``; events go to
the sink once the record is saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ingest.events import Event, EventSink, EventType, hand_over
from ingest.lifecycle.machine import StateMachine
from ingest.live.errors import StreamKeyInUse, StreamKeyRefused
from ingest.live.models import EndReason, LiveSession, LiveStatus, LiveStream
from ingest.live.store import LiveStreamStore

log = logging.getLogger(__name__)
L = LiveStatus

LIVE_STREAM = StateMachine[LiveStatus](
    entity="live stream",
    initial=frozenset({L.IDLE}),
    transitions={
        L.IDLE: frozenset({L.ACTIVE, L.ENDED}),
        L.ACTIVE: frozenset({L.DISCONNECTED, L.ENDED}),
        L.DISCONNECTED: frozenset({L.ACTIVE, L.ENDED}),
        L.ENDED: frozenset(),
    },
)

EVENTS = {L.ACTIVE: EventType.LIVE_STREAM_ACTIVE,
          L.DISCONNECTED: EventType.LIVE_STREAM_DISCONNECTED,
          L.ENDED: EventType.LIVE_STREAM_ENDED}
PUBLISHER_SILENT_S = 10.0
"""A publisher the RTMP server has not reported for this long (on_publish, then on_update every
2 s) is gone: the server died or restarted and will never send its on_publish_done. Long enough
for a few late callbacks of a loaded API; nginx drops a publisher whose callback fails."""
PUBLIC_FIELDS = frozenset({"id", "title", "speaker", "status", "created_at", "ended_at",
                           "end_reason", "asset_id", "reconnect_window_s"})


def public_stream(stream: LiveStream) -> dict[str, Any]:
    """The stream as events carry it: never its key."""
    return stream.model_dump(mode="json", include=set(PUBLIC_FIELDS))


def _end(stream: LiveStream, reason: EndReason, now: datetime) -> None:
    LIVE_STREAM.check(stream.status, L.ENDED, stream.id)
    if stream.sessions and stream.sessions[-1].ended_at is None:
        stream.sessions[-1].ended_at = now
    stream.status = L.ENDED
    stream.ended_at = now
    stream.end_reason = reason


def _disconnect(stream: LiveStream, now: datetime, *, lost: bool) -> None:
    current = stream.current
    assert current is not None
    LIVE_STREAM.check(stream.status, L.DISCONNECTED, stream.id)
    current.ended_at = now
    current.lost = lost
    stream.status = L.DISCONNECTED
    stream.disconnected_at = now


class LiveLifecycle:
    def __init__(self, store: LiveStreamStore, sink: EventSink,
                 on_change: Callable[[LiveStream], None] | None = None) -> None:
        self.store = store
        self.sink = sink
        self.on_change = on_change
        """Called after each saved status change (the API schedules the window's end, starts
        the transcoder)."""

    def create(self, stream: LiveStream) -> LiveStream:
        LIVE_STREAM.check(None, stream.status, stream.id)
        return self.store.create(stream)

    def publish(self, stream_key: str, publisher: str) -> LiveStream:
        """A publisher connects with ``stream_key``: `active`, or refused."""
        stream = self._by_key(stream_key)

        def change(s: LiveStream) -> None:
            now = datetime.now(UTC)
            if s.status == L.DISCONNECTED and s.window_passed(now):
                _end(s, EndReason.RECONNECT_WINDOW, now)
                return
            if s.status == L.ENDED:
                return
            current = s.current
            if current is not None and current.publisher != publisher:
                raise StreamKeyInUse("This stream key is already being published.")
            if current is not None:
                return  # the same connection asking twice
            LIVE_STREAM.check(s.status, L.ACTIVE, s.id)
            s.status = L.ACTIVE
            s.disconnected_at = None
            s.sessions = [*s.sessions, LiveSession(publisher=publisher, started_at=now)]
        saved = self._save(stream.id, change)
        if saved.status != L.ACTIVE:
            self.store.forget_key(saved)
            raise StreamKeyRefused("This stream has ended; create a new live stream.")
        self.store.heard(saved.id, publisher, PUBLISHER_SILENT_S)
        return saved

    def publish_done(self, stream_key: str, publisher: str) -> LiveStream | None:
        """The publisher ``publisher`` went away: `disconnected` if it was the one on air."""
        stream = self.store.by_key(stream_key)
        if stream is None:
            return None

        def change(s: LiveStream) -> None:
            current = s.current
            if current is None or current.publisher != publisher:
                return  # a refused publisher, or one that was already replaced
            _disconnect(s, datetime.now(UTC), lost=False)
        return self._save(stream.id, change)

    def still_allowed(self, stream_key: str, publisher: str) -> LiveStream:
        """Asked every few seconds while ``publisher`` publishes: raise to drop it (the key
        was revoked, the stream ended, the session ran past the maximum duration)."""
        stream = self._by_key(stream_key)
        if stream.status == L.ENDED:
            raise StreamKeyRefused("This stream has ended.")
        current = stream.current
        if current is not None and current.publisher != publisher:
            raise StreamKeyRefused("Another connection publishes this stream.")
        last = stream.sessions[-1] if stream.sessions else None
        if current is None and last is not None and last.lost and last.publisher == publisher:
            # a publisher ``settle`` gave up on, heard again: drop it, so that it connects
            # again through on_publish and the stream has one story
            raise StreamKeyRefused("This connection was given up as lost; connect again.")
        # no session (yet): nginx may ask before the answer to this publisher's on_publish was
        # saved (a loaded API); on_publish decides, so let it be
        if stream.dropped_publisher == publisher:
            raise StreamKeyRefused("The stream could not be read; it was dropped.")
        if stream.over_duration():
            self.end(stream.id, EndReason.MAX_DURATION)
            raise StreamKeyRefused("The stream ran past its maximum duration.")
        if current is not None:
            self.store.heard(stream.id, publisher, PUBLISHER_SILENT_S)
        return stream

    def end(self, stream_id: str, reason: EndReason) -> LiveStream:
        """`ended` (from any other status); the key opens nothing any more."""
        def change(s: LiveStream) -> None:
            if s.status != L.ENDED:
                _end(s, reason, datetime.now(UTC))
        saved = self._save(stream_id, change)
        self.store.forget_key(saved)
        return saved

    def expire_if_due(self, stream_id: str) -> LiveStream:
        """`ended` if the reconnect window of a `disconnected` stream has passed."""
        stream = self.store.get(stream_id)
        if not stream.window_passed():
            return stream

        def change(s: LiveStream) -> None:
            if s.window_passed():
                _end(s, EndReason.RECONNECT_WINDOW, datetime.now(UTC))
        saved = self._save(stream_id, change)
        if saved.status == L.ENDED:
            self.store.forget_key(saved)
        return saved

    def settle(self, stream_id: str) -> LiveStream:
        """What the passing of time alone decides: the reconnect window of a `disconnected`
        stream has passed (`ended`), or the RTMP server has not reported the publisher of an
        `active` one for ``PUBLISHER_SILENT_S`` (`disconnected`, as on publish_done: window,
        slate, webhook). Live workers call it every second for every open stream."""
        stream = self.expire_if_due(stream_id)
        if not self._silent(stream):
            return stream

        def change(s: LiveStream) -> None:
            if self._silent(s):
                _disconnect(s, datetime.now(UTC), lost=True)
        saved = self._save(stream_id, change)
        if saved.status == L.DISCONNECTED:
            log.warning("live stream %s: the RTMP server stopped reporting its publisher; "
                        "disconnected", stream_id)
        return saved

    def _silent(self, stream: LiveStream) -> bool:
        current = stream.current
        if current is None:
            return False
        if (datetime.now(UTC) - current.started_at).total_seconds() < PUBLISHER_SILENT_S:
            return False  # on_publish's heartbeat may not be written yet
        return self.store.last_heard(stream.id) != current.publisher

    def drop_publisher(self, stream_id: str, publisher: str, code: str) -> LiveStream:
        """The transcoder cannot read what ``publisher`` sends: the next on_update drops it
        (and only it: the speaker may connect again with a working encoder)."""
        def change(s: LiveStream) -> None:
            s.dropped_publisher = publisher
            s.error = code
        return self.store.update(stream_id, change)

    def recording_created(self, stream_id: str, asset_id: str) -> LiveStream:
        """The ended stream's recording is an asset now (not a status change)."""
        def change(s: LiveStream) -> None:
            s.asset_id = asset_id
        return self.store.update(stream_id, change)

    def _by_key(self, stream_key: str) -> LiveStream:
        stream = self.store.by_key(stream_key)
        if stream is None:
            raise StreamKeyRefused("Unknown or revoked stream key.")
        return stream

    def _save(self, stream_id: str, change: Callable[[LiveStream], None]) -> LiveStream:
        seen: list[LiveStatus] = []

        def tracked(s: LiveStream) -> None:
            seen.append(s.status)
            change(s)
        saved = self.store.update(stream_id, tracked)
        if seen and saved.status != seen[0]:
            event = EVENTS.get(saved.status)
            if event is not None:
                self._emit(Event(event, public_stream(saved)))
            if self.on_change is not None:
                try:
                    self.on_change(saved)
                except Exception:
                    log.exception("live stream %s: reacting to %s failed", saved.id,
                                  saved.status.value)
        return saved

    def _emit(self, event: Event) -> None:
        hand_over(self.sink, event)
