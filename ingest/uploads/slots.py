"""Upload slot records: the bucket holds the truth (`uploads/{id}/slot.json`), Redis a copy and
an index (`ingest.records`).

Status changes go through ingest.lifecycle.uploads, on top of ``SlotStore.update``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.errors import TransientError
from ingest.records import RecordKind, RecordStore
from ingest.storage import keys
from ingest.uploads.errors import SlotCancelled, SlotClosed, SlotExpired, SlotNotFound
from ingest.uploads.models import UploadSlot, UploadStatus

LOCK_TTL_S = 60
LOCK_WAIT_S = 30


class SlotBusy(TransientError):
    code = "upload_busy"


class SlotStore(RecordStore[UploadSlot]):
    kind = RecordKind(model=UploadSlot, name="upload", id_prefix="up-", folder="uploads/",
                      file_name="slot.json", record_key=keys.upload_slot,
                      not_found=SlotNotFound.of, busy=SlotBusy, lock_ttl_s=LOCK_TTL_S,
                      lock_wait_s=LOCK_WAIT_S, lock_thread_local=False)

    def _save(self, slot: UploadSlot) -> None:
        slot.updated_at = datetime.now(UTC)
        self._write(slot)

    def rebuild_index(self) -> list[UploadSlot]:
        """Re-index every slot record of the bucket (after Redis was lost); the waiting ones
        are returned (their expiry job is gone with Redis)."""
        return [slot for slot in self.reindex_stored() if slot.status == UploadStatus.WAITING]


def ensure_open(slot: UploadSlot) -> None:
    """Raise the specific reason why ``slot`` takes no bytes, if it does not. Once its asset
    exists, a file sent through it replaces the asset's video, until the producer locks it."""
    if slot.status == UploadStatus.CANCELLED:
        raise SlotCancelled("The producer cancelled this upload link.")
    open_states = (UploadStatus.WAITING, UploadStatus.ASSET_CREATED)
    if slot.status == UploadStatus.TIMED_OUT or (slot.status in open_states and slot.expired()):
        raise SlotExpired(f"This upload link expired at {slot.expires_at:%Y-%m-%d %H:%M} UTC.")
    if slot.status not in open_states:
        raise SlotClosed(f"This upload link takes no more files (it is {slot.status.value}).")
    if slot.locked:
        raise SlotClosed("The producer locked this upload link.", code="upload_locked")
