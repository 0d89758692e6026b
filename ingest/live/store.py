"""Live stream records: the bucket holds the truth (`live/{id}/stream.json`); Redis holds a
copy, an index by creation time and the stream key's digest → id (rebuilt from the bucket by
``rebuild_index``). Status changes go through ingest.lifecycle.live, on top of ``update``."""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.errors import NotFound
from ingest.live.errors import LiveStreamBusy, LiveStreamNotFound
from ingest.live.models import LiveStream, key_digest
from ingest.records import RecordKind, RecordStore
from ingest.storage import keys

LOCK_TTL_S = 30
LOCK_WAIT_S = 10


class LiveStreamStore(RecordStore[LiveStream]):
    kind = RecordKind(model=LiveStream, name="live-stream", id_prefix="ls-", folder="live/",
                      file_name="stream.json", record_key=keys.live_record,
                      not_found=LiveStreamNotFound.of, busy=LiveStreamBusy,
                      lock_ttl_s=LOCK_TTL_S, lock_wait_s=LOCK_WAIT_S, lock_thread_local=False,
                      lock_name="live", label="Live stream")

    def _key_index(self, stream_key: str) -> str:
        return f"{self._prefix}:live-key:{key_digest(stream_key)}"

    # --- reads -----------------------------------------------------------------------------
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

    def ids(self) -> list[str]:
        """Every indexed stream's id, oldest first (no record read)."""
        raw: list[bytes] = self.redis.zrange(self._index, 0, -1)  # type: ignore[assignment]
        return [member.decode() for member in raw]

    def last_heard(self, stream_id: str) -> str | None:
        """The publisher the RTMP server reported last for this stream, if it did so recently
        (``heard``'s ``ttl_s``)."""
        raw: bytes | None = self.redis.get(self._heard_key(stream_id))  # type: ignore[assignment]
        return raw.decode() if raw else None

    def list(self) -> list[LiveStream]:
        """Every stream, newest first."""
        return list(self.indexed(newest_first=True))

    # --- writes ----------------------------------------------------------------------------
    def create(self, stream: LiveStream) -> LiveStream:
        self._write(stream)
        self.redis.set(self._key_index(stream.stream_key), stream.id)
        self._add_to_index(stream)
        return stream

    def _save(self, stream: LiveStream) -> None:
        stream.updated_at = datetime.now(UTC)
        self._write(stream)

    def _heard_key(self, stream_id: str) -> str:
        return f"{self._prefix}:live-heard:{stream_id}"

    def heard(self, stream_id: str, publisher: str, ttl_s: float) -> None:
        """The RTMP server reported ``publisher`` on this stream just now (a heartbeat kept in
        Redis only, for ``ttl_s``: it costs no bucket write)."""
        self.redis.set(self._heard_key(stream_id), publisher, px=int(ttl_s * 1000))

    def forget_key(self, stream: LiveStream) -> None:
        """The key opens nothing any more (the record stays, `ended`); its SRT port is free."""
        self.redis.delete(self._key_index(stream.stream_key))
        if stream.srt_port is not None:
            self.redis.delete(self._srt_port_key(stream.srt_port))

    def _srt_port_key(self, port: int) -> str:
        return f"{self._prefix}:srt-port:{port}"

    def claim_srt_port(self, stream_id: str, ports: range) -> int | None:
        """The first port of ``ports`` no other open stream holds (None: all taken)."""
        for port in ports:
            if self.redis.set(self._srt_port_key(port), stream_id, nx=True):
                return port
        return None

    def rebuild_index(self) -> int:
        """Re-index every record of the bucket (after Redis was lost); ended streams' keys stay
        unindexed."""
        count = 0
        for stream in self.reindex_stored():
            if stream.status != "ended":
                self.redis.set(self._key_index(stream.stream_key), stream.id)
            count += 1
        return count
