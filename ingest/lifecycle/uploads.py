"""The lifecycle of an upload slot: the only code that changes its status.

    waiting ──► asset_created      (the upload completed; `upload.asset_created` is emitted)
       ├──────► cancelled          (the producer closed the link)
       ├──────► timed_out          (its expiry passed with no finished upload)
       └──────► errored

Every change runs inside ``SlotStore.update`` (the slot's lock, reload, change, save); an illegal
one raises ``InvalidTransition`` before anything is saved, and the event goes to the sink once
the record is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.events import Event, EventSink, EventType, hand_over
from ingest.lifecycle.machine import StateMachine
from ingest.uploads.models import UploadSlot, UploadStatus
from ingest.uploads.slots import SlotStore, ensure_open
from ingest.uploads.transfers import Transfers

U = UploadStatus

UPLOAD_SLOT = StateMachine[UploadStatus](
    entity="upload slot",
    initial=frozenset({U.WAITING}),
    transitions={
        U.WAITING: frozenset({U.ASSET_CREATED, U.ERRORED, U.CANCELLED, U.TIMED_OUT}),
        U.ASSET_CREATED: frozenset(),
        U.ERRORED: frozenset(),
        U.CANCELLED: frozenset(),
        U.TIMED_OUT: frozenset(),
    },
)
"""Every status but `waiting` is final."""

PUBLIC_FIELDS = frozenset({"id", "status", "title", "speaker", "language", "max_duration_s",
                           "created_at", "expires_at", "locked", "asset_id", "error"})


def public_slot(slot: UploadSlot) -> dict[str, Any]:
    """The slot as events carry it: no links, so no capability token leaves in a webhook."""
    return slot.model_dump(mode="json", include=set(PUBLIC_FIELDS))


class SlotLifecycle:
    def __init__(self, store: SlotStore, sink: EventSink) -> None:
        self.store = store
        self.sink = sink

    def create(self, slot: UploadSlot) -> UploadSlot:
        UPLOAD_SLOT.check(None, slot.status, slot.id)
        return self.store.create(slot)

    def cancel(self, slot_id: str) -> UploadSlot:
        return self._move(slot_id, U.CANCELLED)

    def expire_if_due(self, slot: UploadSlot) -> UploadSlot:
        """`timed_out` if still waiting past its expiry; the slot as it is now."""
        if slot.status != U.WAITING or not slot.expired():
            return slot

        def change(s: UploadSlot) -> None:
            if s.status == U.WAITING and s.expired():
                UPLOAD_SLOT.check(s.status, U.TIMED_OUT, s.id)
                s.status = U.TIMED_OUT
        return self.store.update(slot.id, change)

    def asset_created(self, slot_id: str, asset_id: str) -> UploadSlot:
        """The upload is whole and its asset exists; refused if the slot closed meanwhile."""
        def change(s: UploadSlot) -> None:
            ensure_open(s)
            s.asset_id = asset_id
        return self._move(slot_id, U.ASSET_CREATED, change)

    def lock(self, slot_id: str) -> UploadSlot:
        """No new file through the link (a flag, not a status: the slot keeps its status)."""
        def change(s: UploadSlot) -> None:
            s.locked = True
        return self.store.update(slot_id, change)

    def issue_version(self, slot_id: str, current: int) -> int:
        """The version number of a replacement upload of the slot's asset (whose version is
        ``current``): never given twice, even to uploads running side by side."""
        def change(s: UploadSlot) -> None:
            ensure_open(s)
            s.versions = max(s.versions, current) + 1
        return self.store.update(slot_id, change).versions

    def _move(self, slot_id: str, to: UploadStatus,
              also: Callable[[UploadSlot], None] | None = None) -> UploadSlot:
        def change(s: UploadSlot) -> None:
            UPLOAD_SLOT.check(s.status, to, s.id)
            if also is not None:
                also(s)
            s.status = to
        saved = self.store.update(slot_id, change)
        if to == U.ASSET_CREATED:
            self._emit(Event(EventType.UPLOAD_ASSET_CREATED, public_slot(saved)))
        return saved

    def _emit(self, event: Event) -> None:
        hand_over(self.sink, event)


def close_if_expired(slots: SlotLifecycle, transfers: Transfers, slot: UploadSlot) -> UploadSlot:
    """A waiting slot past its expiry becomes `timed_out`; the unfinished transfers of a slot
    past its expiry (a replacement of its asset's video too) are aborted, their multipart
    uploads and pending bytes dropped (once: later calls find none)."""
    closed = slots.expire_if_due(slot)
    if closed.status != slot.status or closed.expired():
        transfers.discard_unfinished(slot.id)
    return closed
