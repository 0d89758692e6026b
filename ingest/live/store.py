"""Live stream records: the bucket holds the truth (`live/{id}/stream.json`); Redis holds an
index by creation time and the stream key's digest → id (rebuilt from the bucket by
``rebuild_index``). Status changes go through ingest.lifecycle.live, on top of ``update``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError

from ingest.errors import NotFound
from ingest.live.errors import LiveStreamBusy, LiveStreamNotFound
from ingest.live.models import LiveStream, key_digest
from ingest.locks import record_lock
from ingest.storage import keys
from ingest.storage.s3 import Storage

log = logging.getLogger(__name__)
LOCK_TTL_S = 30
LOCK_WAIT_S = 10


class LiveStreamStore:
    def __init__(self, storage: Storage, redis: Redis, prefix: str = "podium") -> None:
        self.storage = storage
        self.redis = redis
        self._prefix = prefix
        self._index = f"{prefix}:live-streams"

    def _cache_key(self, stream_id: str) -> str:
        return f"{self._prefix}:live-stream:{stream_id}"

    def _key_index(self, stream_key: str) -> str:
        return f"{self._prefix}:live-key:{key_digest(stream_key)}"

    # --- reads -----------------------------------------------------------------------------
    def get(self, stream_id: str) -> LiveStream:
        if not keys.is_valid_id(stream_id) or not stream_id.startswith("ls-"):
            raise LiveStreamNotFound.of(stream_id)
        try:
            cached = self.redis.get(self._cache_key(stream_id))
        except RedisError as exc:
            log.warning("redis unavailable, reading live stream %s from the bucket: %s",
                        stream_id, exc)
            cached = None
        if cached:
            return LiveStream.model_validate_json(cached)
        try:
            raw = self.storage.get_bytes(keys.live_record(stream_id))
        except NotFound as exc:
            raise LiveStreamNotFound.of(stream_id) from exc
        stream = LiveStream.model_validate_json(raw)
        self._cache(stream)
        return stream

    def by_key(self, stream_key: str) -> LiveStream | None:
        """The stream whose secret key this is (None: no such key)."""
        raw: bytes | None = self.redis.get(self._key_index(stream_key))  # type: ignore[assignment]
        if not raw:
            return None
        try:
            stream = self.get(raw.decode())
        except NotFound:
            return None
        return stream if stream.stream_key == stream_key else None

    def list(self) -> list[LiveStream]:
        """Every stream, newest first."""
        ids: list[bytes] = self.redis.zrevrange(self._index, 0, -1)  # type: ignore[assignment]
        streams = []
        for raw in ids:
            try:
                streams.append(self.get(raw.decode()))
            except NotFound:
                self.redis.zrem(self._index, raw)
        return streams

    # --- writes ----------------------------------------------------------------------------
    def create(self, stream: LiveStream) -> LiveStream:
        self._write(stream)
        self.redis.set(self._key_index(stream.stream_key), stream.id)
        self.redis.zadd(self._index, {stream.id: stream.created_at.timestamp()})
        return stream

    def update(self, stream_id: str, change: Callable[[LiveStream], None]) -> LiveStream:
        """Reload, change and save the record under the stream's lock."""
        with record_lock(self.redis, f"{self._prefix}:lock:live:{stream_id}",
                         busy=LiveStreamBusy, what=f"Live stream {stream_id}",
                         ttl_s=LOCK_TTL_S, wait_s=LOCK_WAIT_S, thread_local=False):
            stream = self.get(stream_id)
            change(stream)
            stream.updated_at = datetime.now(UTC)
            self._write(stream)
            return stream

    def forget_key(self, stream: LiveStream) -> None:
        """The key opens nothing any more (the record stays, `ended`)."""
        self.redis.delete(self._key_index(stream.stream_key))

    def rebuild_index(self) -> int:
        """Re-index every record of the bucket (after Redis was lost); ended streams' keys stay
        unindexed."""
        count = 0
        for key in self.storage.list_keys("live/"):
            if not key.endswith("/stream.json"):
                continue
            try:
                stream = LiveStream.model_validate_json(self.storage.get_bytes(key))
            except (NotFound, ValueError) as exc:
                log.warning("skipping unreadable live stream record %s: %s", key, exc)
                continue
            self._cache(stream)
            self.redis.zadd(self._index, {stream.id: stream.created_at.timestamp()})
            if stream.status != "ended":
                self.redis.set(self._key_index(stream.stream_key), stream.id)
            count += 1
        return count

    def _write(self, stream: LiveStream) -> None:
        self.storage.put_bytes(keys.live_record(stream.id), stream.model_dump_json().encode(),
                               "application/json")
        self._cache(stream)

    def _cache(self, stream: LiveStream) -> None:
        try:
            self.redis.set(self._cache_key(stream.id), stream.model_dump_json(), ex=24 * 3600)
        except RedisError as exc:
            log.warning("could not cache live stream %s: %s", stream.id, exc)
