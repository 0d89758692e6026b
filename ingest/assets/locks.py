"""A Redis lock per asset around every read-modify-write of its record and playlists.

Pipeline jobs, caption jobs and API requests all rewrite `asset.json` and `master.m3u8`;
`AssetStore.update` does so as "lock, reload, change, write, unlock", so no writer
overwrites another's change with a stale copy. The lock expires on its own, so a killed
holder blocks others for at most LOCK_TTL_S.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from redis import Redis

from ingest.errors import TransientError
from ingest.locks import record_lock

LOCK_TTL_S = 60
"""Longest a holder may keep the lock; holders do a few storage requests, never media work."""
WAIT_S = 30


class AssetBusy(TransientError):
    """Another writer held the asset's lock for too long; worth another try."""

    code = "asset_busy"


class HasRedis(Protocol):
    redis: Redis


def asset_lock(store: HasRedis, prefix: str, asset_id: str) -> AbstractContextManager[None]:
    """Hold the asset's lock for the block; AssetBusy when it cannot be had within WAIT_S."""
    return record_lock(store.redis, f"{prefix}:lock:asset:{asset_id}", busy=AssetBusy,
                       what=f"Asset {asset_id}", ttl_s=LOCK_TTL_S, wait_s=WAIT_S)
