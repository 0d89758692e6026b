"""Resumable transfers: the bytes of a tus upload go to an S3 multipart upload as they arrive.

State lives in Redis (one JSON record per transfer) and every change of it happens under the
transfer's Redis lock, so any API process can take the next chunk. Parts all have the same size
(``Transfer.part_size``); bytes that do not fill a part yet are kept in the bucket as pending
segments, one object per chunk, and become the start of the next part. Memory per request is
bounded by about two parts, whatever the upload's size; nothing goes to local disk.

A chunk is committed only once it has been read (and its checksum, if any, verified): parts it
uploaded before a failure are simply uploaded again under the same numbers by the next chunk,
and the object is assembled from the ETags the state lists.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import LockError, RedisError
from redis.lock import Lock

from ingest.errors import InvalidMedia, StorageError
from ingest.media.probe import SNIFF_BYTES, sniff_demuxer
from ingest.storage import keys
from ingest.storage.s3 import Storage
from ingest.uploads import tus
from ingest.uploads.errors import (
    ChecksumMismatch,
    OffsetMismatch,
    TransferBusy,
    TransferGone,
    TransferNotFound,
    TransferTooLarge,
)
from ingest.uploads.models import Transfer, UploadSlot, new_transfer_id

log = logging.getLogger(__name__)
LOCK_TTL_S = 60
"""A holder refreshes the lock at least this often; a dead one frees it after this."""
LOCK_WAIT_S = 10.0
"""How long a request waits for another one on the same transfer (a dropped PATCH still
committing what it got) before answering 423."""
KEEPALIVE_S = 10.0
PARTS_IN_FLIGHT = 2
"""Parts of one chunk uploaded at once: keeps storage busy while the body is read; memory per
request is about this many parts plus one."""
_PART_UPLOADS = ThreadPoolExecutor(max_workers=12, thread_name_prefix="transfer-part")
CLOSING_TTL_S = 3600
"""How long the word that a transfer's slot closed stays (its discard is done in a minute)."""
STATE_GRACE_S = 24 * 3600
"""A transfer's state outlives its slot's expiry by this (a finished one, for HEAD)."""


class Transfers:
    def __init__(self, storage: Storage, redis: Redis, prefix: str = "podium") -> None:
        self.storage = storage
        self.redis = redis
        self._prefix = prefix

    def _state_key(self, transfer_id: str) -> str:
        return f"{self._prefix}:transfer:{transfer_id}"

    def _gone_key(self, transfer_id: str) -> str:
        return f"{self._prefix}:transfer-gone:{transfer_id}"

    def _of_slot_key(self, slot_id: str) -> str:
        return f"{self._prefix}:transfers-of:{slot_id}"

    def _closing_key(self, transfer_id: str) -> str:
        return f"{self._prefix}:transfer-closing:{transfer_id}"

    def closing(self, transfer_id: str) -> bool:
        """Whether the transfer's slot closed (cancelled, locked, expired): a chunk being
        written stops at its next part, so the transfer's lock comes free to discard it."""
        return bool(self.redis.exists(self._closing_key(transfer_id)))

    # --- state -----------------------------------------------------------------------------
    def create(self, slot: UploadSlot, asset_id: str, length: int, metadata: dict[str, str],
               max_bytes: int, version: int = 0) -> Transfer:
        """A new transfer of ``length`` bytes into the source key of ``version`` of asset
        ``asset_id``."""
        if length == 0:
            raise InvalidMedia("The file is empty.", code="empty_file")
        if length > max_bytes:
            raise TransferTooLarge(f"The file is larger than the limit of {max_bytes} bytes.")
        key = keys.source(asset_id, version)
        transfer = Transfer(
            id=new_transfer_id(), slot_id=slot.id, asset_id=asset_id, key=key,
            multipart_id=self.storage.start_multipart(key, "application/octet-stream"),
            length=length, part_size=tus.part_size_for(length), metadata=metadata,
            expires_at=slot.expires_at, version=version)
        self._save(transfer)
        self.redis.sadd(self._of_slot_key(slot.id), transfer.id)
        self.redis.expire(self._of_slot_key(slot.id), self._ttl(transfer))
        return transfer

    def get(self, slot_id: str, transfer_id: str) -> Transfer:
        raw = self.redis.get(self._state_key(transfer_id))
        if raw is None:
            if self.redis.exists(self._gone_key(transfer_id)):
                raise TransferGone("This upload was terminated; start a new one.")
            raise TransferNotFound(f"No upload {transfer_id!r} here.")
        transfer = Transfer.model_validate_json(raw)
        if transfer.slot_id != slot_id:
            raise TransferNotFound(f"No upload {transfer_id!r} here.")
        return transfer

    def _ttl(self, transfer: Transfer) -> int:
        left = (transfer.expires_at - datetime.now(UTC)).total_seconds()
        return max(60, int(left + STATE_GRACE_S))

    def _save(self, transfer: Transfer) -> None:
        self.redis.set(self._state_key(transfer.id), transfer.model_dump_json(),
                       ex=self._ttl(transfer))

    def _acquire(self, transfer_id: str, wait_s: float) -> Lock:
        """The transfer's lock (not thread-bound: a request's steps run on several threads)."""
        lock = self.redis.lock(f"{self._prefix}:lock:transfer:{transfer_id}",
                               timeout=LOCK_TTL_S, blocking_timeout=wait_s, thread_local=False)
        if not lock.acquire():
            raise TransferBusy("Another request is writing to this upload; retry shortly.")
        return lock

    @contextmanager
    def locked(self, transfer_id: str, wait_s: float = LOCK_WAIT_S) -> Iterator[Lock]:
        lock = self._acquire(transfer_id, wait_s)
        try:
            yield lock
        finally:
            _release(lock, transfer_id)

    # --- operations --------------------------------------------------------------------------
    def current(self, slot_id: str, transfer_id: str) -> Transfer:
        """The state once no chunk is being written (HEAD after a dropped PATCH sees what that
        PATCH kept, not an offset about to change)."""
        with self.locked(transfer_id):
            return self.get(slot_id, transfer_id)

    def begin(self, slot_id: str, transfer_id: str, offset: int,
              checksum: tuple[str, bytes] | None,
              declared: int | None = None) -> AppendSession:
        """Take the lock and check the offset: a session that appends the chunk's bytes."""
        lock = self._acquire(transfer_id, LOCK_WAIT_S)
        try:
            transfer = self.get(slot_id, transfer_id)
            if transfer.done or offset != transfer.offset:
                raise OffsetMismatch(f"Upload-Offset is {offset} but the upload is at "
                                     f"{transfer.offset}; ask with HEAD and resume there.")
            if declared is not None and offset + declared > transfer.length:
                raise TransferTooLarge(f"The chunk would take the upload past its length "
                                       f"of {transfer.length} bytes.")
        except BaseException:
            _release(lock, transfer_id)
            raise
        return AppendSession(self, transfer, lock, checksum)

    def terminate(self, slot_id: str, transfer_id: str) -> None:
        """Drop the transfer and every byte of it; later requests get 410."""
        with self.locked(transfer_id):
            self._discard(self.get(slot_id, transfer_id))

    def _discard(self, transfer: Transfer) -> None:
        if not transfer.done:
            self.storage.abort_multipart(transfer.key, transfer.multipart_id)
        self.storage.delete_prefix(keys.transfer_prefix(transfer.slot_id, transfer.id))
        self.redis.set(self._gone_key(transfer.id), "1", ex=self._ttl(transfer))
        self.redis.delete(self._state_key(transfer.id))
        self.redis.srem(self._of_slot_key(transfer.slot_id), transfer.id)

    def discard_unfinished(self, slot_id: str) -> int:
        """Abort every unfinished transfer of the slot (cancelled, locked or expired): its
        multipart upload and pending segments go, and its requests get 410 from now on. A chunk
        being written is told to stop first (it would hold the transfer's lock to its end)."""
        ids = [raw.decode() if isinstance(raw, bytes) else str(raw)
               for raw in self.redis.smembers(self._of_slot_key(slot_id))]
        for transfer_id in ids:
            self.redis.set(self._closing_key(transfer_id), "1", ex=CLOSING_TTL_S)
        dropped = 0
        for transfer_id in ids:
            with self.locked(transfer_id, wait_s=LOCK_TTL_S):
                try:
                    transfer = self.get(slot_id, transfer_id)
                except (TransferGone, TransferNotFound):
                    continue
                if not transfer.done:
                    self._discard(transfer)
                    dropped += 1
                else:  # nothing of it to drop, now or later
                    self.redis.srem(self._of_slot_key(slot_id), transfer_id)
        if ids:
            self.storage.delete_prefix(keys.upload_prefix(slot_id) + "transfers/")
        return dropped


class AppendSession:
    """One chunk (a PATCH body) being appended; holds the transfer's lock until closed.

    ``feed`` only buffers (call it on the event loop); ``io`` does the blocking work (parts to
    S3, lock refresh) and must run off the loop, whenever ``io_due`` says so; ``commit`` or
    ``abandon`` ends the session.
    """

    def __init__(self, transfers: Transfers, transfer: Transfer, lock: Lock,
                 checksum: tuple[str, bytes] | None) -> None:
        self._t = transfers
        self.transfer = transfer
        self._lock = lock
        self._checksum = checksum
        self._hasher = hashlib.new(checksum[0]) if checksum else None
        self.start = transfer.offset
        self.received = 0
        self._buf = _Pieces()
        self._parts: list[Future[str]] = []
        """Parts of this chunk being (or done being) uploaded, in part-number order."""
        self._pending = list(transfer.pending)
        self._consumed: list[int] = []
        self._last_refresh = time.monotonic()
        self.closed = False

    @property
    def checksummed(self) -> bool:
        return self._checksum is not None

    # --- on the event loop ------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if self.start + self.received + len(data) > self.transfer.length:
            raise TransferTooLarge(f"The chunk goes past the upload's length of "
                                   f"{self.transfer.length} bytes.")
        self._buf.add(data)
        self.received += len(data)
        if self._hasher is not None:
            self._hasher.update(data)

    def io_due(self) -> bool:
        return (self._pending_bytes() + len(self._buf) >= self.transfer.part_size
                or time.monotonic() - self._last_refresh >= KEEPALIVE_S)

    # --- off the event loop -----------------------------------------------------------------
    def io(self) -> None:
        """Upload every full part buffered so far, and keep the lock."""
        size = self.transfer.part_size
        while self._pending_bytes() + len(self._buf) >= size:
            take = size - self._pending_bytes()
            self._upload_part(self._buf.take(take, head=self._read_pending()))
        self._refresh()

    def commit(self) -> Transfer:
        """Keep what was received (checksum first); the last chunk completes the object."""
        try:
            if self._checksum is not None:
                assert self._hasher is not None
                if not hmac.compare_digest(self._hasher.digest(), self._checksum[1]):
                    raise ChecksumMismatch(f"The chunk does not match its {self._checksum[0]} "
                                           f"checksum; nothing of it was kept.")
            self.io()
            t = self.transfer
            end = self.start + self.received
            complete = end == t.length
            if complete and (self._buf or self._pending):
                self._upload_part(self._buf.take(len(self._buf), head=self._read_pending()))
            elif self._buf:
                first = end - len(self._buf)
                self._t.storage.put_bytes(keys.pending_segment(t.slot_id, t.id, first),
                                          self._buf.take(len(self._buf)),
                                          "application/octet-stream")
                self._pending.append(first)
            self._buf.clear()
            t.etags = t.etags + self._settled_etags()
            t.pending = self._pending
            t.offset = end
            self._refresh()
            self._t._save(t)
            self._drop_consumed()
            if complete:
                self._t.storage.complete_multipart(t.key, t.multipart_id, t.etags)
                t.done = True
                self._t._save(t)
            return t
        finally:
            self.close()

    def abandon(self) -> None:
        """Keep nothing of this chunk (a bad checksum, an error, a dropped checksummed chunk)."""
        self._buf.clear()
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            # a part still travelling must land before another request may take the lock,
            # or it could replace that request's upload of the same part number
            wait(self._parts)
            _release(self._lock, self.transfer.id)

    # --- helpers ------------------------------------------------------------------------------
    def _pending_bytes(self) -> int:
        """Bytes of the pending segments not yet turned into a part."""
        if not self._pending:
            return 0
        return self.start - self._pending[0]

    def _read_pending(self) -> bytes:
        t = self.transfer
        data = b"".join(self._t.storage.get_bytes(keys.pending_segment(t.slot_id, t.id, s))
                        for s in self._pending)
        if len(data) != self._pending_bytes():
            raise StorageError(f"pending bytes of transfer {t.id} are incomplete")
        self._consumed += self._pending
        self._pending = []
        return data

    def _upload_part(self, data: bytes) -> None:
        """Start uploading the next part; at most PARTS_IN_FLIGHT of a chunk at once, so the
        body keeps being read while earlier parts travel to storage."""
        t = self.transfer
        number = len(t.etags) + len(self._parts) + 1
        if number == 1:
            sniff_demuxer(data[:SNIFF_BYTES])  # InvalidMedia before a 3 GB non-video arrives
        self._refresh()
        running = [f for f in self._parts if not f.done()]
        if len(running) >= PARTS_IN_FLIGHT:
            wait(running, return_when=FIRST_COMPLETED)
        failed = next((f.exception() for f in self._parts if f.done() and f.exception()), None)
        if failed is not None:  # storage refused a part: stop reading this chunk now
            raise failed
        self._parts.append(_PART_UPLOADS.submit(self._t.storage.upload_part, t.key,
                                                t.multipart_id, number, data))

    def _settled_etags(self) -> list[str]:
        """The ETags of this chunk's parts, once every one is stored (StorageError if not)."""
        return [f.result() for f in self._parts]

    def _refresh(self) -> None:
        """Keep the lock, and stop if the slot closed meanwhile (nothing of the chunk kept)."""
        try:
            self._lock.reacquire()
            closing = self._t.closing(self.transfer.id)
        except (LockError, RedisError) as exc:
            raise TransferBusy("This upload's lock was lost (a chunk took too long); "
                               "resume from its offset.") from exc
        if closing:
            raise TransferGone("This upload was stopped: its link was cancelled, locked or "
                               "has expired.")
        self._last_refresh = time.monotonic()

    def _drop_consumed(self) -> None:
        t = self.transfer
        if self._consumed:
            with suppress(StorageError):  # leftovers go with the transfer's prefix later
                self._t.storage.delete_keys(
                    [keys.pending_segment(t.slot_id, t.id, s) for s in self._consumed])
            self._consumed = []


class _Pieces:
    """The body's pieces as they came (no copy on arrival); a part is joined from them in one
    copy (a growing bytearray cost a copy in, a copy out and a move of the rest)."""

    def __init__(self) -> None:
        self._pieces: deque[bytes | memoryview] = deque()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, data: bytes) -> None:
        self._pieces.append(data)
        self._size += len(data)

    def take(self, n: int, head: bytes = b"") -> bytes:
        """``head`` followed by the first ``n`` bytes, which leave the buffer."""
        out: list[bytes | memoryview] = [head] if head else []
        while n:
            piece = self._pieces.popleft()
            if len(piece) > n:  # the rest stays, as a view of the same bytes
                self._pieces.appendleft(memoryview(piece)[n:])
                piece = memoryview(piece)[:n]
            out.append(piece)
            n -= len(piece)
            self._size -= len(piece)
        return b"".join(out)

    def clear(self) -> None:
        self._pieces.clear()
        self._size = 0


def _release(lock: Lock, transfer_id: str) -> None:
    try:
        lock.release()
    except LockError:
        log.warning("lock of transfer %s expired while held", transfer_id)
