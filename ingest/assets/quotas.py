"""Per-producer limits on work in flight: the assets one API key has waiting or preparing.

The set of an owner's active assets lives in Redis (asset id -> time it was reserved) and heals
itself: every count first drops the entries that are done, errored or deleted, so nothing has
to remember to release a slot when an asset finishes. A slot is reserved before the upload's
bytes are read; an id with no record yet is an upload in progress (until UPLOAD_GRACE_S).
"""

from __future__ import annotations

import hashlib
import time

from redis.exceptions import RedisError

from ingest.assets.models import AssetStatus
from ingest.assets.store import AssetStore
from ingest.errors import NotFound, TooManyJobs, TransientError

UPLOAD_GRACE_S = 2 * 3600
"""Longest an upload may take between its reservation and its record (4 GiB at ~5 Mb/s); a
reservation without a record older than this is an upload that died with its API process."""
LOCK_S = 30
_ACTIVE = (AssetStatus.WAITING, AssetStatus.PREPARING)


def owner_of(api_key: str) -> str:
    """A stable, non-reversible name of a producer key, kept on assets and in Redis keys."""
    return "k-" + hashlib.sha256(f"podium-owner|{api_key}".encode()).hexdigest()[:16]


class ActiveAssets:
    """The assets each owner has waiting or preparing, and the limit on how many."""

    def __init__(self, store: AssetStore, prefix: str) -> None:
        self.store = store
        self.redis = store.redis
        self._prefix = prefix

    def _key(self, owner: str) -> str:
        return f"{self._prefix}:active:{owner}"

    def reserve(self, owner: str, asset_id: str, limit: int) -> None:
        """Count ``asset_id`` against ``owner``; TooManyJobs when ``limit`` are already active."""
        try:
            with self.redis.lock(f"{self._prefix}:lock:active:{owner}", timeout=LOCK_S,
                                 blocking_timeout=LOCK_S):
                active = self.count(owner)
                if active >= limit:
                    raise TooManyJobs(f"This API key already has {active} videos waiting or "
                                      f"being prepared (the limit is {limit}); upload again "
                                      "once some are ready.")
                self.redis.zadd(self._key(owner), {asset_id: time.time()})
        except RedisError as exc:
            raise TransientError(f"redis unavailable: {exc}") from exc

    def track(self, owner: str, asset_id: str) -> None:
        """Count ``asset_id`` from now on without checking the limit: its reservation was made
        before its bytes arrived, and may have lapsed during a long resumable upload."""
        self.redis.zadd(self._key(owner), {asset_id: time.time()})

    def release(self, owner: str, asset_id: str) -> None:
        """Forget a reservation whose upload was refused or failed."""
        self.redis.zrem(self._key(owner), asset_id)

    def count(self, owner: str) -> int:
        """Active assets of ``owner``, dropping entries that are no longer active."""
        now = time.time()
        rows: list[tuple[bytes, float]] = self.redis.zrange(  # type: ignore[assignment]
            self._key(owner), 0, -1, withscores=True)
        active = 0
        for raw, reserved_at in rows:
            asset_id = raw.decode()
            if self._is_active(asset_id, now - reserved_at):
                active += 1
            else:
                self.redis.zrem(self._key(owner), asset_id)
        return active

    def _is_active(self, asset_id: str, age_s: float) -> bool:
        if self.store.is_deleted(asset_id):
            return False
        try:
            return self.store.get(asset_id).status in _ACTIVE
        except NotFound:
            return age_s < UPLOAD_GRACE_S  # reserved, still uploading
