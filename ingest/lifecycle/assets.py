"""The lifecycle of an asset and of its caption tracks: the only code that changes their status.

The allowed transitions are the two tables below. Every status change goes through one of the
functions of this module, inside ``AssetLifecycle.update`` (the asset's lock, reload, change,
save): an illegal change raises ``InvalidTransition`` before anything is saved, and once the
record is saved the events the change caused go to the sink, once per transition. A job that
runs twice finds the state already changed and emits nothing.

    asset:  waiting ──► preparing ──► ready
               ▲ │            │ ▲ (next stage, waiting for captions)
               │ └────────────┴─┴──► errored
               └── ready | errored  (replace: a new version of the video, from its upload slot)
    track:  (none) ──► preparing ──► ready ──► preparing (regenerate) ...
                           └──────► errored ──► preparing | ready (a file uploaded)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from redis.exceptions import RedisError

from ingest.assets.models import (
    Asset,
    AssetStatus,
    CaptionReview,
    CaptionSource,
    CaptionStatus,
    CaptionTrack,
    ErrorInfo,
    Progress,
    Stage,
)
from ingest.assets.public import public_asset, public_track
from ingest.assets.store import AssetStore
from ingest.errors import Conflict, NotFound, TransientError
from ingest.events import Event, EventSink, EventType, StoredEvent
from ingest.lifecycle.machine import StateMachine

log = logging.getLogger(__name__)

A, C = AssetStatus, CaptionStatus

class AssetProcessing(Conflict):
    """The asset cannot take a new version now: its current one is still being processed."""

    code = "asset_processing"


ASSET = StateMachine[AssetStatus](
    entity="asset",
    initial=frozenset({A.WAITING}),
    transitions={
        A.WAITING: frozenset({A.PREPARING, A.ERRORED}),
        A.PREPARING: frozenset({A.PREPARING, A.READY, A.ERRORED}),
        A.READY: frozenset({A.WAITING}),
        A.ERRORED: frozenset({A.WAITING}),
    },
)
"""`ready` and `errored` are final for the version they reached: a late retry or a second run
leaves them alone (no stage runs from them). Only ``replace`` leaves them, for a new version."""

CAPTION_TRACK = StateMachine[CaptionStatus](
    entity="caption track",
    initial=frozenset({C.PREPARING, C.READY, C.ERRORED}),
    transitions={
        C.PREPARING: frozenset({C.PREPARING, C.READY, C.ERRORED}),
        # ready stays ready through edits, approval, a new file, or a failed regeneration
        # (the published rendition stays, with the error attached): it never becomes errored
        C.READY: frozenset({C.READY, C.PREPARING}),
        C.ERRORED: frozenset({C.ERRORED, C.PREPARING, C.READY}),
    },
)


# --- the changes (called inside AssetLifecycle.update) -----------------------------------------
def enter_stage(asset: Asset, stage: Stage) -> None:
    """A processing stage starts: the asset is `preparing`, at 0 % of ``stage``."""
    _move(asset, A.PREPARING)
    asset.progress = Progress(stage=stage, percent=0)


def publish(asset: Asset, *, wait_for_captions: bool) -> None:
    """The video is published: `ready`, or still `preparing` at stage `captions` when the
    deployment holds readiness until automatic captions are done."""
    _move(asset, A.PREPARING if wait_for_captions else A.READY)
    asset.error = None
    asset.progress = (Progress(stage=Stage.CAPTIONS, percent=0) if wait_for_captions
                      else Progress(stage=Stage.DONE, percent=100))


def check_replaceable(asset: Asset) -> None:
    """Refuse a new version while the current one is still being processed."""
    if asset.status not in (A.READY, A.ERRORED):
        raise AssetProcessing(f"The video of asset {asset.id} is still being processed "
                        f"({asset.status.value}); it can be replaced once that is over.")


def replace(asset: Asset, version: int) -> None:
    """A new video for the asset (sent through its upload slot): version ``version`` starts
    from `waiting`, while the last ready version keeps playing until this one is ready. What
    describes the playing version (renditions, duration) stays until the new one's stages
    replace it."""
    check_replaceable(asset)
    if version <= asset.version:
        raise AssetProcessing(f"Version {version} of asset {asset.id} is not newer than its "
                        f"version {asset.version}.", code="stale_version")
    _move(asset, A.WAITING)
    asset.version = version
    asset.source = None
    asset.video_kbps = None  # per-title rates belong to the old video's content
    asset.hls_start_pts = None
    asset.error = None
    asset.attempts = 0
    asset.progress = Progress()
    asset.playable = False  # the new version's segments are not up yet


def mark_playable(asset: Asset) -> None:
    """Every rendition has its first segments and the multivariant playlist is up: viewers
    may start while the rest is encoded (status stays `preparing` until publishing)."""
    if asset.status == A.PREPARING:
        asset.playable = True


def fail(asset: Asset, code: str, message: str) -> None:
    """Processing cannot succeed: `errored`, with the reason."""
    _move(asset, A.ERRORED)
    asset.playable = False  # its renditions are removed
    asset.error = ErrorInfo(code=code, message=message)


def settle_readiness(asset: Asset) -> None:
    """An asset held at stage `captions` becomes ready once no track is being prepared."""
    waiting = asset.status == A.PREPARING and asset.progress.stage == Stage.CAPTIONS
    if waiting and not any(t.status == C.PREPARING for t in asset.captions):
        _move(asset, A.READY)
        asset.progress = Progress(stage=Stage.DONE, percent=100)


def track_preparing(asset: Asset, language: str) -> CaptionTrack:
    """Speech recognition is queued for ``language``; a ready track keeps its source and
    review (its rendition stays listed until the new one replaces it)."""
    current = asset.caption(language)
    if current is None or current.status == C.ERRORED:
        return _put_track(asset, language, C.PREPARING, CaptionSource.ASR, CaptionReview.MACHINE)
    return _put_track(asset, language, C.PREPARING, current.source, current.review)


def track_ready(asset: Asset, language: str, source: CaptionSource,
                review: CaptionReview, translation_of: str | None = None) -> CaptionTrack:
    """The track's rendition is in storage: it is listed as `ready`."""
    return _put_track(asset, language, C.READY, source, review, translation_of=translation_of,
                      keep_translation=False)


def translation_needs_review(asset: Asset, language: str) -> CaptionTrack:
    """The source of a translation changed its timings: the translation awaits a person."""
    current = asset.caption(language)
    assert current is not None
    track = current.model_copy(update={"review": CaptionReview.NEEDS_REVIEW})
    asset.set_caption(track)
    return track


def track_kept(asset: Asset, language: str) -> CaptionTrack:
    """A machine run finished but a person's track stays: back to `ready` as it was."""
    current = asset.caption(language)
    if current is None:
        raise ValueError(f"no {language} track to keep on {asset.id}")
    return _put_track(asset, language, C.READY, current.source, current.review)


def track_failed(asset: Asset, language: str, code: str, message: str,
                 still_published: bool) -> CaptionTrack:
    """Speech recognition failed: `errored`, or, while an earlier rendition is still
    published, `ready` with the error attached."""
    error = ErrorInfo(code=code, message=message)
    current = asset.caption(language)
    if current is not None and still_published:
        return _put_track(asset, language, C.READY, current.source, current.review, error)
    return _put_track(asset, language, C.ERRORED, CaptionSource.ASR, CaptionReview.MACHINE,
                      error)


def _move(asset: Asset, status: AssetStatus) -> None:
    ASSET.check(asset.status, status, asset.id)
    asset.status = status
    if status == A.READY:
        asset.published_version = asset.version


def _put_track(asset: Asset, language: str, status: CaptionStatus, source: CaptionSource,
               review: CaptionReview, error: ErrorInfo | None = None,
               translation_of: str | None = None, *, keep_translation: bool = True
               ) -> CaptionTrack:
    """``keep_translation`` keeps the current track's `translation_of` (a rerun, a failure);
    a new track (``track_ready``) says its own."""
    current = asset.caption(language)
    CAPTION_TRACK.check(None if current is None else current.status, status,
                        f"{language} of {asset.id}")
    if keep_translation and current is not None:
        translation_of = current.translation_of
    track = CaptionTrack(language=language, source=source, status=status, review=review,
                         error=error, translation_of=translation_of)
    asset.set_caption(track)
    return track


# --- transitions → events ----------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    """The statuses of an asset and its tracks before a change."""

    asset: AssetStatus
    tracks: dict[str, CaptionStatus]

    @classmethod
    def of(cls, asset: Asset) -> Snapshot:
        return cls(asset.status, {t.language: t.status for t in asset.captions})


def check_change(before: Snapshot, after: Asset) -> None:
    """The net change of one update must be allowed too (a safety net under the functions
    above: a status set any other way is refused here, before it is saved)."""
    if after.status != before.asset:
        ASSET.check(before.asset, after.status, after.id)
    for track in after.captions:
        previous = before.tracks.get(track.language)
        if previous != track.status:
            CAPTION_TRACK.check(previous, track.status, f"{track.language} of {after.id}")


def events_between(before: Snapshot, after: Asset, public_url: str) -> list[Event]:
    """The events a saved change caused: tracks that became ready, then the asset's own."""
    events = [Event(EventType.CAPTIONS_READY, public_track(after.id, t, public_url))
              for t in after.captions
              if t.status == C.READY and t.error is None
              and before.tracks.get(t.language) != C.READY]
    entered = after.status if after.status != before.asset else None
    if entered == A.READY:
        events.append(Event(EventType.ASSET_READY, public_asset(after, public_url)))
    elif entered == A.ERRORED:
        events.append(Event(EventType.ASSET_ERRORED, public_asset(after, public_url)))
    return events


class AssetLifecycle:
    """Status changes of assets and tracks: validated, saved, then announced to the sink.

    The events of a change are saved with it, in the record's outbox, and handed to the sink
    once the record is saved; the outbox is emptied when the sink has them. An event whose
    hand-over was cut short (the process killed, the sink failing) stays in the outbox and goes
    out, under the same id, with the asset's next change or when a job finds nothing left to
    do (``flush``); the sink records one delivery per (event id, webhook), so nothing is sent
    twice.
    """

    def __init__(self, store: AssetStore, sink: EventSink, public_url: str) -> None:
        self.store = store
        self.sink = sink
        self.public_url = public_url

    def create(self, asset: Asset) -> Asset:
        """Store a new asset (it starts `waiting`)."""
        ASSET.check(None, asset.status, asset.id)
        return self.store.create(asset)

    def update(self, asset_id: str, change: Callable[[Asset], None],
               then: Callable[[Asset], None] | None = None) -> Asset:
        """``AssetStore.update`` (lock, reload, ``change``, save, ``then``) with the change
        checked against the state machines before saving, and its events emitted after."""
        saved: list[Asset] = []

        def checked(asset: Asset) -> None:
            before = Snapshot.of(asset)
            change(asset)
            check_change(before, asset)
            fresh = events_between(before, asset, self.public_url)
            asset.outbox = [*asset.outbox, *(StoredEvent.of(e) for e in fresh)]

        def after_save(asset: Asset) -> None:
            saved.append(asset)
            if then is not None:
                then(asset)

        try:
            return self.store.update(asset_id, checked, after_save)
        finally:
            # once saved, the events go out even if ``then`` failed: a retry of the work
            # would find the state already changed and make no new ones
            if saved:
                self._send(saved[0])

    def flush(self, asset_id: str) -> None:
        """Hand the asset's pending events to the sink (a job that finds its work done)."""
        self._send(self.store.get(asset_id))

    def _send(self, asset: Asset) -> None:
        sent: set[str] = set()
        for pending in asset.outbox:
            try:
                self.sink.emit(pending.event())
            except Exception:  # kept in the outbox: the next change or flush sends it again
                log.exception("event %s (%s) could not be handed to the sink", pending.id,
                              pending.type.value)
                break
            sent.add(pending.id)
        if not sent:
            return

        def forget(a: Asset) -> None:
            a.outbox = [e for e in a.outbox if e.id not in sent]

        try:
            self.store.update(asset.id, forget)
        except (NotFound, TransientError, RedisError) as exc:  # sent again later, same ids
            log.warning("outbox of %s not emptied: %s", asset.id, exc)
