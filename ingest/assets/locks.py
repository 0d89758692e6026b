"""A Redis lock per asset around every read-modify-write of its record and playlists.

Pipeline jobs, caption jobs and API requests all rewrite `asset.json` and `master.m3u8`;
`AssetStore.update` does so as "lock, reload, change, write, unlock", so no writer
overwrites another's change with a stale copy. The lock expires on its own, so a killed
holder blocks others for at most LOCK_TTL_S.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from redis import Redis
from redis.exceptions import LockError, RedisError

from ingest.errors import TransientError

log = logging.getLogger(__name__)
LOCK_TTL_S = 60
"""Longest a holder may keep the lock; holders do a few storage requests, never media work."""
WAIT_S = 30


class AssetBusy(TransientError):
    """Another writer held the asset's lock for too long; worth another try."""

    code = "asset_busy"


class HasRedis(Protocol):
    redis: Redis


@contextmanager
def asset_lock(store: HasRedis, prefix: str, asset_id: str) -> Iterator[None]:
    """Hold the asset's lock for the block; AssetBusy when it cannot be had within WAIT_S."""
    lock = store.redis.lock(f"{prefix}:lock:asset:{asset_id}", timeout=LOCK_TTL_S,
                            blocking_timeout=WAIT_S)
    try:
        acquired = lock.acquire()
    except RedisError as exc:
        raise AssetBusy("The service is busy; try again shortly.",
                        detail=f"redis unavailable: {exc}") from exc
    if not acquired:
        raise AssetBusy(f"Asset {asset_id} is being changed by another request; try again.")
    try:
        yield
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("lock of asset %s expired while held (> %d s)", asset_id, LOCK_TTL_S)
