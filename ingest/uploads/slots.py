"""Upload slot records: the bucket holds the truth (`uploads/{id}/slot.json`), Redis an index.

Status changes go through ingest.lifecycle.uploads, on top of ``SlotStore.update``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError

from ingest.assets.store import parse_cursor
from ingest.errors import NotFound, TransientError
from ingest.locks import record_lock
from ingest.storage import keys
from ingest.storage.s3 import Storage
from ingest.uploads.errors import SlotCancelled, SlotClosed, SlotExpired, SlotNotFound
from ingest.uploads.models import UploadSlot, UploadStatus

log = logging.getLogger(__name__)
LOCK_TTL_S = 60
LOCK_WAIT_S = 30
CACHE_TTL_S = 24 * 3600


class SlotBusy(TransientError):
    code = "upload_busy"


class SlotStore:
    def __init__(self, storage: Storage, redis: Redis, prefix: str = "podium") -> None:
        self.storage = storage
        self.redis = redis
        self._prefix = prefix
        self._index = f"{prefix}:uploads"

    def _cache_key(self, slot_id: str) -> str:
        return f"{self._prefix}:upload:{slot_id}"

    # --- reads -----------------------------------------------------------------------------
    def get(self, slot_id: str) -> UploadSlot:
        if not keys.is_valid_id(slot_id) or not slot_id.startswith("up-"):
            raise SlotNotFound.of(slot_id)
        try:
            cached = self.redis.get(self._cache_key(slot_id))
        except RedisError as exc:
            log.warning("redis unavailable, reading slot %s from the bucket: %s", slot_id, exc)
            cached = None
        if cached:
            return UploadSlot.model_validate_json(cached)
        try:
            raw = self.storage.get_bytes(keys.upload_slot(slot_id))
        except NotFound as exc:
            raise SlotNotFound.of(slot_id) from exc
        slot = UploadSlot.model_validate_json(raw)
        self._cache(slot)
        return slot

    def page(self, limit: int, cursor: str | None) -> tuple[list[UploadSlot], str | None]:
        """Newest first; the cursor is the last seen `<score>_<id>`, as for assets."""
        rows: list[tuple[bytes, float]] = []
        max_score = "+inf"
        if cursor:
            score, last_id = parse_cursor(cursor)
            max_score = f"({score!r}"
            if last_id is not None:
                ties: list[tuple[bytes, float]] = self.redis.zrevrangebyscore(  # type: ignore[assignment]
                    self._index, score, score, withscores=True)
                rows = [(m, s) for m, s in ties if m.decode() < last_id]
        older: list[tuple[bytes, float]] = self.redis.zrevrangebyscore(  # type: ignore[assignment]
            self._index, max_score, "-inf", start=0, num=limit + 1, withscores=True)
        rows = (rows + older)[: limit + 1]
        items: list[UploadSlot] = []
        for raw_id, _ in rows[:limit]:
            try:
                items.append(self.get(raw_id.decode()))
            except NotFound:
                self.redis.zrem(self._index, raw_id)
        next_cursor = None
        if len(rows) > limit:
            last_raw, last_score = rows[limit - 1]
            next_cursor = f"{last_score!r}_{last_raw.decode()}"
        return items, next_cursor

    # --- writes ----------------------------------------------------------------------------
    def create(self, slot: UploadSlot) -> UploadSlot:
        self._write(slot)
        self.redis.zadd(self._index, {slot.id: slot.created_at.timestamp()})
        return slot

    def locked(self, slot_id: str) -> AbstractContextManager[None]:
        return record_lock(self.redis, f"{self._prefix}:lock:upload:{slot_id}", busy=SlotBusy,
                           what=f"Upload {slot_id}", ttl_s=LOCK_TTL_S, wait_s=LOCK_WAIT_S,
                           thread_local=False)

    def update(self, slot_id: str, change: Callable[[UploadSlot], None]) -> UploadSlot:
        """Reload, change and save the record under the slot's lock."""
        with self.locked(slot_id):
            slot = self.get(slot_id)
            change(slot)
            slot.updated_at = datetime.now(UTC)
            self._write(slot)
            return slot

    def rebuild_index(self) -> list[UploadSlot]:
        """Re-index every slot record of the bucket (after Redis was lost); the waiting ones
        are returned (their expiry job is gone with Redis)."""
        waiting = []
        for key in self.storage.list_keys("uploads/"):
            if not key.endswith("/slot.json"):
                continue
            try:
                slot = UploadSlot.model_validate_json(self.storage.get_bytes(key))
            except (NotFound, ValueError) as exc:
                log.warning("skipping unreadable slot record %s: %s", key, exc)
                continue
            self._cache(slot)
            self.redis.zadd(self._index, {slot.id: slot.created_at.timestamp()})
            if slot.status == UploadStatus.WAITING:
                waiting.append(slot)
        return waiting

    def _write(self, slot: UploadSlot) -> None:
        self.storage.put_bytes(keys.upload_slot(slot.id), slot.model_dump_json().encode(),
                               "application/json")
        self._cache(slot)

    def _cache(self, slot: UploadSlot) -> None:
        try:
            self.redis.set(self._cache_key(slot.id), slot.model_dump_json(), ex=CACHE_TTL_S)
        except RedisError as exc:
            log.warning("could not cache upload %s: %s", slot.id, exc)


def ensure_open(slot: UploadSlot) -> None:
    """Raise the specific reason why ``slot`` takes no bytes, if it does not."""
    if slot.status == UploadStatus.CANCELLED:
        raise SlotCancelled("The producer cancelled this upload link.")
    if slot.status == UploadStatus.TIMED_OUT or (slot.status == UploadStatus.WAITING
                                                 and slot.expired()):
        raise SlotExpired(f"This upload link expired at {slot.expires_at:%Y-%m-%d %H:%M} UTC.")
    if slot.status != UploadStatus.WAITING:
        raise SlotClosed(f"This upload link takes no more files (it is {slot.status.value}).")
    if slot.locked:
        raise SlotClosed("The producer locked this upload link.", code="upload_locked")
