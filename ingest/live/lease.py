"""Who transcodes a live stream: a short Redis lease, renewed every second by the job that
holds it. A worker that dies stops renewing; within ``ttl_s`` the lease is free and the
next check (the RTMP server's on_update, every few seconds) queues a job that takes it."""

from __future__ import annotations

import contextlib
import secrets
import threading

from redis import Redis
from redis.exceptions import RedisError

TTL_S = 3.0
RENEW_S = 1.0
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def lease_key(prefix: str, stream_id: str) -> str:
    return f"{prefix}:live-lease:{stream_id}"


def held(redis: Redis, prefix: str, stream_id: str) -> bool:
    return bool(redis.exists(lease_key(prefix, stream_id)))


class Lease:
    def __init__(self, redis: Redis, prefix: str, stream_id: str, ttl_s: float = TTL_S) -> None:
        self.redis = redis
        self.key = lease_key(prefix, stream_id)
        self.token = secrets.token_hex(8)
        self.ttl_ms = int(ttl_s * 1000)
        self.lost = threading.Event()
        """Set once the lease could not be renewed: another worker may hold it now."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> bool:
        return bool(self.redis.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def start_renewing(self) -> None:
        self._thread = threading.Thread(target=self._renew, name="live-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(RENEW_S):
            try:
                kept = self.redis.eval(_RENEW, 1, self.key, self.token, self.ttl_ms)
            except RedisError:
                kept = 0
            if not kept:
                self.lost.set()
                return

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with contextlib.suppress(RedisError):  # it expires on its own
            self.redis.eval(_RELEASE, 1, self.key, self.token)
