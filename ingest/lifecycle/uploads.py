"""The lifecycle of an upload slot: `waiting` until its asset exists (`asset_created`), or it
is `errored`, `cancelled` or `timed_out`; every one of those is final. The table is
ingest.uploads.models.TRANSITIONS; ``SlotStore.move`` calls ``move`` under the slot's lock."""

from __future__ import annotations

from ingest.lifecycle.machine import StateMachine
from ingest.uploads.errors import SlotClosed
from ingest.uploads.models import TRANSITIONS, UploadSlot, UploadStatus

UPLOAD_SLOT = StateMachine[UploadStatus](
    entity="upload slot",
    initial=frozenset({UploadStatus.WAITING}),
    transitions=TRANSITIONS,
)


def move(slot: UploadSlot, to: UploadStatus) -> None:
    """Change the slot's status; SlotClosed (a Conflict) if the table does not allow it."""
    if not UPLOAD_SLOT.allowed(slot.status, to):
        raise SlotClosed(f"The upload is {slot.status.value}; it cannot become {to.value}.")
    slot.status = to
