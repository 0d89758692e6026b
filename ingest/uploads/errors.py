"""The errors of upload slots and resumable uploads (codes only; api/errors.py maps them)."""

from __future__ import annotations

from ingest.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge


class SlotNotFound(NotFound):
    code = "upload_not_found"

    @classmethod
    def of(cls, slot_id: str) -> SlotNotFound:
        return cls(f"No upload slot {slot_id!r}.")


class InvalidUploadToken(Forbidden):
    """The link's token is missing, forged, or made for another slot."""

    code = "invalid_upload_token"


class SlotClosed(Conflict):
    """The slot takes no more data: cancelled, timed out, locked, or its asset exists."""

    code = "upload_closed"


class SlotExpired(SlotClosed):
    code = "upload_expired"


class SlotCancelled(SlotClosed):
    code = "upload_cancelled"


class TransferNotFound(NotFound):
    """No resumable upload of that id (never created, or its slot is gone)."""

    code = "transfer_not_found"


class TransferGone(NotFound):
    """The resumable upload was terminated (or abandoned when its slot closed)."""

    code = "transfer_gone"


class OffsetMismatch(Conflict):
    """A PATCH whose Upload-Offset is not the upload's current offset."""

    code = "offset_mismatch"


class ChecksumMismatch(InvalidInput):
    """The chunk's bytes do not match its Upload-Checksum: nothing of it was kept."""

    code = "checksum_mismatch"


class TransferBusy(Conflict):
    """Another request holds the upload's lock (a chunk is being written)."""

    code = "transfer_locked"


class TransferTooLarge(TooLarge):
    code = "upload_too_large"


class IdempotencyConflict(Conflict):
    """The Idempotency-Key belongs to a request still running, or to different parameters."""

    code = "idempotency_conflict"
