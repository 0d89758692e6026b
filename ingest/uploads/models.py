"""Upload slots (`uploads/{id}/slot.json`) and the state of one resumable transfer."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from ingest.assets.models import ErrorInfo


class UploadStatus(StrEnum):
    WAITING = "waiting"
    ASSET_CREATED = "asset_created"
    ERRORED = "errored"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


class UploadSlot(BaseModel):
    """A producer's invitation to one speaker to send one video."""

    id: str
    status: UploadStatus = UploadStatus.WAITING
    title: str
    speaker: str | None = None
    language: str = "en"
    max_duration_s: float | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    expires_at: datetime
    locked: bool = False
    asset_id: str | None = None
    error: ErrorInfo | None = None
    versions: int = 0
    """The last version number of the slot's asset given to a replacement upload (each
    replacement is the asset's next version, stored apart)."""
    owner: str | None = None
    """Fingerprint of the producer key that made the slot (ingest.assets.quotas.owner_of): its
    asset counts against that key's limits on work in flight, like one the key uploaded."""

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.expires_at


class Transfer(BaseModel):
    """One tus upload of a slot, kept in Redis while it runs.

    The bytes ``[0, parts * part_size)`` are parts of the S3 multipart upload; the rest, up to
    ``offset``, sit in the bucket as pending segments (one object per chunk that ended short of
    a part), each starting at the offset in ``pending``.
    """

    id: str
    slot_id: str
    asset_id: str
    key: str
    multipart_id: str
    length: int
    part_size: int
    offset: int = 0
    etags: list[str] = Field(default_factory=list)
    pending: list[int] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    expires_at: datetime
    done: bool = False
    version: int = 0
    """Which version of the asset this file becomes: 0 makes the asset, more replaces its
    video."""

    @property
    def part_bytes(self) -> int:
        """Bytes already stored as multipart parts."""
        return len(self.etags) * self.part_size

    @property
    def filename(self) -> str | None:
        return self.metadata.get("filename") or self.metadata.get("name")


def new_slot_id() -> str:
    return "up-" + secrets.token_hex(8)


def new_transfer_id() -> str:
    return "tu-" + secrets.token_hex(8)
