"""Channel documents: the bucket holds the truth (`channels/{id}/channel.json`), Redis a copy,
the revision number and an index, all rebuildable from the bucket (`podium reconcile`).

Playlist requests are the hot path: they read only the revision from Redis and reuse the
document and its compiled timeline this process already holds for that revision.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager

from redis import Redis

from ingest.channels.models import AsRun, Channel
from ingest.channels.schedule import Timeline
from ingest.errors import NotFound, TransientError
from ingest.records import RecordKind, RecordStore
from ingest.storage import keys
from ingest.storage.s3 import Storage

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


class ChannelStore(RecordStore[Channel]):
    kind = RecordKind(model=Channel, name="channel", id_prefix="ch-", folder="channels/",
                      file_name="channel.json", record_key=keys.channel_record,
                      not_found=ChannelNotFound.of, busy=ChannelBusy,
                      lock_ttl_s=LOCK_TTL_S, lock_wait_s=LOCK_WAIT_S)

    def __init__(self, storage: Storage, redis: Redis, prefix: str = "podium") -> None:
        super().__init__(storage, redis, prefix)
        self._compiled: dict[str, tuple[int, Timeline]] = {}
        self._guard = threading.Lock()

    def _revision(self, channel: Channel) -> int:
        return channel.revision

    # --- reads -----------------------------------------------------------------------------
    def get(self, channel_id: str) -> Channel:
        return self.timeline(channel_id).channel

    def timeline(self, channel_id: str) -> Timeline:
        """The channel and its compiled timeline; compiled once per revision per process."""
        self._check_id(channel_id)
        held = self.held(channel_id, self.cached_revision(channel_id))
        if held is not None:
            return held
        timeline = Timeline(self._load(channel_id))
        with self._guard:
            if len(self._compiled) >= _COMPILED_MAX:
                self._compiled.clear()
            self._compiled[channel_id] = (timeline.channel.revision, timeline)
        return timeline

    def held(self, channel_id: str, revision: int | None) -> Timeline | None:
        """The timeline this process compiled, if it is of ``revision`` (read by the caller,
        e.g. without blocking); None: ask `timeline`."""
        held = self._compiled.get(channel_id)
        if held is None or revision is None or held[0] != revision:
            return None
        return held[1]

    def list(self) -> list[Channel]:
        return list(self.indexed())

    # --- writes ----------------------------------------------------------------------------
    def _reload(self, channel_id: str) -> Channel:
        """An edit starts from the bucket's document, never from the Redis copy."""
        return self._read_stored(channel_id)

    def delete(self, channel_id: str) -> None:
        self.get(channel_id)
        self.storage.delete_prefix(keys.channel_prefix(channel_id))
        self._forget(channel_id)
        self._compiled.pop(channel_id, None)

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
        return self.locked(channel_id, "as-run")

    # --- recovery --------------------------------------------------------------------------
    def rebuild_index(self) -> int:
        """Re-index and re-cache every channel document in the bucket; how many there are."""
        return sum(1 for _ in self.reindex_stored())
