"""Redis locks around every read-modify-write of a stored record (asset, channel, upload slot).

Writers do "lock, reload, change, write, unlock", so none overwrites another's change with a
stale copy. A lock expires on its own, so a killed holder blocks others for at most its TTL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from redis import Redis
from redis.exceptions import LockError, RedisError

from ingest.errors import TransientError

log = logging.getLogger(__name__)


@contextmanager
def record_lock(redis: Redis, name: str, *, busy: type[TransientError], what: str,
                ttl_s: float = 60, wait_s: float = 30, thread_local: bool = True) -> Iterator[None]:
    """Hold the Redis lock ``name`` for the block.

    ``busy`` (a transient error, so jobs retry) is raised when the lock cannot be had within
    ``wait_s`` or Redis is unreachable; ``what`` names the record for people ("Asset as-1...").
    ``thread_local=False`` lets another thread release it (async routes hand work to threads).
    """
    lock = redis.lock(name, timeout=ttl_s, blocking_timeout=wait_s, thread_local=thread_local)
    try:
        acquired = lock.acquire()
    except RedisError as exc:
        raise busy("The service is busy; try again shortly.",
                   detail=f"redis unavailable: {exc}") from exc
    if not acquired:
        raise busy(f"{what} is being changed by another request; try again.")
    try:
        yield
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("lock %s expired while held (> %.0f s)", name, ttl_s)
