"""Channel documents: the bucket holds the truth (`channels/{id}/channel.json`), Redis a copy,
the revision number and an index, all rebuildable from the bucket (`podium reconcile`).

Playlist requests are the hot path: they read only the revision from Redis and reuse the
document and its compiled timeline this process already holds for that revision.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from redis import Redis
from redis.exceptions import RedisError

from ingest.channels.models import AsRun, Channel
from ingest.channels.schedule import Timeline
from ingest.errors import NotFound, StorageError, TransientError
from ingest.locks import record_lock
from ingest.storage import keys
from ingest.storage.s3 import Storage

log = logging.getLogger(__name__)

CACHE_TTL_S = 24 * 3600
LOCK_TTL_S = 30
LOCK_WAIT_S = 15
_COMPILED_MAX = 256


class ChannelNotFound(NotFound):
    code = "channel_not_found"

    @classmethod
    def of(cls, channel_id: str) -> ChannelNotFound:
        return cls(f"No channel {channel_id!r}.")


class ChannelBusy(TransientError):
    code = "channel_busy"


class ChannelStore:
    def __init__(self, storage: Storage, redis: Redis, prefix: str = "podium") -> None:
        self.storage = storage
        self.redis = redis
        self._prefix = prefix
        self._index = f"{prefix}:channels"
        self._compiled: dict[str, tuple[int, Timeline]] = {}
        self._guard = threading.Lock()

    def _doc_key(self, channel_id: str) -> str:
        return f"{self._prefix}:channel:{channel_id}"

    def _rev_key(self, channel_id: str) -> str:
        return f"{self._prefix}:channel-rev:{channel_id}"

    # --- reads -----------------------------------------------------------------------------
    def get(self, channel_id: str) -> Channel:
        return self.timeline(channel_id).channel

    def timeline(self, channel_id: str) -> Timeline:
        """The channel and its compiled timeline; compiled once per revision per process."""
        if not keys.is_valid_id(channel_id) or not channel_id.startswith("ch-"):
            raise ChannelNotFound.of(channel_id)
        revision = self._cached_revision(channel_id)
        held = self._compiled.get(channel_id)
        if held is not None and revision is not None and held[0] == revision:
            return held[1]
        timeline = Timeline(self._load(channel_id))
        with self._guard:
            if len(self._compiled) >= _COMPILED_MAX:
                self._compiled.clear()
            self._compiled[channel_id] = (timeline.channel.revision, timeline)
        return timeline

    def _cached_revision(self, channel_id: str) -> int | None:
        try:
            raw = self.redis.get(self._rev_key(channel_id))
        except RedisError as exc:
            log.warning("redis unavailable, reading channel %s from the bucket: %s",
                        channel_id, exc)
            return None
        return int(raw) if raw is not None else None

    def _load(self, channel_id: str) -> Channel:
        try:
            cached = self.redis.get(self._doc_key(channel_id))
        except RedisError:
            cached = None
        if cached:
            return Channel.model_validate_json(cached)
        try:
            raw = self.storage.get_bytes(keys.channel_record(channel_id))
        except NotFound as exc:
            raise ChannelNotFound.of(channel_id) from exc
        channel = Channel.model_validate_json(raw)
        self._cache(channel)
        return channel

    def list(self) -> list[Channel]:
        ids: list[bytes] = self.redis.zrange(self._index, 0, -1)  # type: ignore[assignment]
        out = []
        for raw in ids:
            try:
                out.append(self.get(raw.decode()))
            except NotFound:
                self.redis.zrem(self._index, raw)
        return out

    # --- writes ----------------------------------------------------------------------------
    def create(self, channel: Channel) -> Channel:
        self._write(channel)
        self.redis.zadd(self._index, {channel.id: channel.created_at.timestamp()})
        return channel

    def update(self, channel_id: str, change: Callable[[Channel], None]) -> Channel:
        """Reload from the bucket, ``change`` and save under the channel's lock."""
        with self._locked(channel_id):
            try:
                raw = self.storage.get_bytes(keys.channel_record(channel_id))
            except NotFound as exc:
                raise ChannelNotFound.of(channel_id) from exc
            channel = Channel.model_validate_json(raw)
            change(channel)
            self._write(channel)
            return channel

    def delete(self, channel_id: str) -> None:
        self.get(channel_id)
        self.storage.delete_prefix(keys.channel_prefix(channel_id))
        self.redis.delete(self._doc_key(channel_id), self._rev_key(channel_id))
        self.redis.zrem(self._index, channel_id)
        self._compiled.pop(channel_id, None)

    def _write(self, channel: Channel) -> None:
        body = channel.model_dump_json()
        self.storage.put_bytes(keys.channel_record(channel.id), body.encode(), "application/json")
        self._cache(channel, body)

    def _cache(self, channel: Channel, body: str | None = None) -> None:
        try:
            pipe = self.redis.pipeline()
            pipe.set(self._doc_key(channel.id), body or channel.model_dump_json(),
                     ex=CACHE_TTL_S)
            pipe.set(self._rev_key(channel.id), channel.revision, ex=CACHE_TTL_S)
            pipe.execute()
        except RedisError as exc:
            log.warning("could not cache channel %s: %s", channel.id, exc)

    # --- as-run log ------------------------------------------------------------------------
    def as_run(self, channel_id: str) -> AsRun:
        try:
            return AsRun.model_validate_json(
                self.storage.get_bytes(keys.channel_as_run(channel_id)))
        except NotFound:
            return AsRun(channel_id=channel_id)

    def save_as_run(self, log: AsRun) -> None:
        self.storage.put_bytes(keys.channel_as_run(log.channel_id),
                               log.model_dump_json().encode(), "application/json")

    def as_run_locked(self, channel_id: str) -> AbstractContextManager[None]:
        return self._locked(channel_id, "as-run")

    def _locked(self, channel_id: str, what: str = "channel") -> AbstractContextManager[None]:
        return record_lock(self.redis, f"{self._prefix}:lock:{what}:{channel_id}",
                           busy=ChannelBusy, what=f"Channel {channel_id}",
                           ttl_s=LOCK_TTL_S, wait_s=LOCK_WAIT_S)

    # --- recovery --------------------------------------------------------------------------
    def iter_stored(self) -> Iterator[Channel]:
        for key in self.storage.list_keys("channels/"):
            if not key.endswith("/channel.json"):
                continue
            try:
                yield Channel.model_validate_json(self.storage.get_bytes(key))
            except (NotFound, StorageError, ValueError, json.JSONDecodeError) as exc:
                log.warning("skipping unreadable channel %s: %s", key, exc)

    def rebuild_index(self) -> int:
        """Re-index and re-cache every channel document in the bucket; how many there are."""
        count = 0
        for channel in self.iter_stored():
            self._cache(channel)
            self.redis.zadd(self._index, {channel.id: channel.created_at.timestamp()})
            count += 1
        return count
