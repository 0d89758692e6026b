"""Records kept as JSON in the bucket (the truth) with a Redis copy and a Redis index.

Every stored record (asset, channel, upload slot, and whatever comes next) is held the same way:
- the bucket holds `<folder>{id}/<file>` (`RecordKind.record_key`); Redis holds a copy
  (`{prefix}:{name}:{id}`, CACHE_TTL_S), optionally the record's revision
  (`{prefix}:{name}-rev:{id}`), and an index by creation time (`{prefix}:{name}s`); all of it
  is rebuilt from the bucket after Redis was lost (`reindex_stored`);
- Redis unreachable: reads fall back to the bucket, caching is skipped (with a warning);
- writers change a record as "lock, reload, change, write" (`update`) under `record_lock`, and
  a lock that cannot be had raises the kind's `busy` error (transient: jobs retry);
- an unknown or malformed id raises the kind's not-found error.

A store declares its kind and keeps only what is its own::

    class ThingStore(RecordStore[Thing]):
        kind = RecordKind(model=Thing, name="thing", id_prefix="th-", folder="things/",
                          file_name="thing.json", record_key=keys.thing_record,
                          not_found=ThingNotFound.of, busy=ThingBusy)
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, Self, TypeVar

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError

from ingest.errors import InvalidInput, NotFound, StorageError, TransientError
from ingest.locks import record_lock
from ingest.storage import keys
from ingest.storage.s3 import Storage

log = logging.getLogger(__name__)

CACHE_TTL_S = 24 * 3600
"""How long Redis keeps a record's copy; a miss reads the bucket again."""


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"


def parse_cursor(cursor: str) -> tuple[float, str | None]:
    """`<score>_<id>` as written by `RecordStore.page` (a bare score is still accepted); a
    non-finite score ('nan') is refused here rather than failing in Redis."""
    raw_score, _, last_id = cursor.partition("_")
    try:
        score = float(raw_score)
    except ValueError as exc:
        raise InvalidCursor("Invalid cursor.") from exc
    if not math.isfinite(score) or (last_id and not keys.is_valid_id(last_id)):
        raise InvalidCursor("Invalid cursor.")
    return score, last_id or None


def _member(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class Record(Protocol):
    """What a stored record is: a pydantic model with an id and a creation time (its place
    in the index)."""

    id: str
    created_at: datetime

    def model_dump_json(self) -> str: ...

    @classmethod
    def model_validate_json(cls, json_data: str | bytes) -> Self: ...


R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class RecordKind(Generic[R]):
    """How one kind of record is stored; the names make its Redis keys and its lock."""

    model: type[R]
    name: str
    """`asset`: copy `{prefix}:asset:{id}`, index `{prefix}:assets`,
    lock `{prefix}:lock:asset:{id}`."""
    folder: str
    """Where the records are listed from in the bucket, e.g. `assets/`."""
    file_name: str
    """The record's object under its folder, e.g. `asset.json`."""
    record_key: Callable[[str], str]
    """The pure key builder of the record (`ingest.storage.keys`)."""
    not_found: Callable[[str], NotFound]
    busy: type[TransientError]
    id_prefix: str = ""
    """Ids of this kind start with it (`ch-`); another id is not found without a lookup."""
    lock_ttl_s: float = 60
    """Longest a holder may keep the lock; holders do a few storage requests, never media work."""
    lock_wait_s: float = 30
    lock_thread_local: bool = True
    """False when another thread may release the lock (async routes hand work to threads)."""
    lock_name: str = ""
    """The lock's middle name when it is not ``name`` (`{prefix}:lock:{lock_name}:{id}`)."""
    label: str = ""
    """The kind for people, in lock errors, when not ``name`` capitalised ('Live stream')."""


class RecordStore(Generic[R]):
    """The bucket record, its Redis copy, revision and index, and the lock of one kind."""

    kind: RecordKind[R]

    def __init__(self, storage: Storage, redis: Redis, prefix: str = "podium") -> None:
        self.storage = storage
        self.redis = redis
        self._prefix = prefix
        self._index = f"{prefix}:{self.kind.name}s"

    def _cache_key(self, record_id: str) -> str:
        return f"{self._prefix}:{self.kind.name}:{record_id}"

    def _rev_key(self, record_id: str) -> str:
        return f"{self._prefix}:{self.kind.name}-rev:{record_id}"

    def revision_key(self, record_id: str) -> str:
        """The Redis key of the record's revision, for readers that hold what they derived from
        the record per revision (the API's playlists): a different value there means changed."""
        return self._rev_key(record_id)

    def _revision(self, record: R) -> int | None:
        """The record's revision, kept in Redis beside its copy (None: the kind has none)."""
        return None

    def _check_id(self, record_id: str) -> None:
        if not keys.is_valid_id(record_id) or not record_id.startswith(self.kind.id_prefix):
            raise self.kind.not_found(record_id)

    # --- reads -----------------------------------------------------------------------------
    def get(self, record_id: str) -> R:
        """The record; the kind's not-found error for unknown or malformed ids."""
        self._check_id(record_id)
        return self._load(record_id)

    def exists(self, record_id: str) -> bool:
        try:
            self.get(record_id)
            return True
        except NotFound:
            return False

    def _load(self, record_id: str) -> R:
        """The Redis copy, else the bucket's record (then cached)."""
        cached = self._cached(record_id)
        if cached:
            return self.kind.model.model_validate_json(cached)
        record = self._read_stored(record_id)
        self._cache(record)
        return record

    def _cached(self, record_id: str) -> bytes | None:
        try:
            return self._read_cache(record_id)
        except RedisError as exc:
            log.warning("redis unavailable, reading %s %s from the bucket: %s",
                        self.kind.name, record_id, exc)
            return None

    def _read_cache(self, record_id: str) -> bytes | None:
        """The Redis copy (may raise RedisError, or the kind's not-found error)."""
        raw: bytes | None = self.redis.get(self._cache_key(record_id))  # type: ignore[assignment]
        return raw

    def _read_stored(self, record_id: str) -> R:
        """The bucket's record, bypassing the Redis copy."""
        try:
            raw = self.storage.get_bytes(self.kind.record_key(record_id))
        except NotFound as exc:
            raise self.kind.not_found(record_id) from exc
        return self.kind.model.model_validate_json(raw)

    def cached_revision(self, record_id: str) -> int | None:
        """The revision Redis holds (one GET); None when it holds none or is unreachable."""
        try:
            raw = self.redis.get(self._rev_key(record_id))
        except RedisError as exc:
            log.warning("redis unavailable, reading %s %s from the bucket: %s",
                        self.kind.name, record_id, exc)
            return None
        return int(raw) if raw is not None else None

    def page(self, limit: int, cursor: str | None) -> tuple[list[R], str | None]:
        """Newest first. The cursor is the last seen (score, id) so inserts never shift pages,
        and records sharing one created_at (bulk imports, a rebuilt index) are never skipped."""
        after = parse_cursor(cursor) if cursor else None
        rows: list[tuple[bytes, float]] = []
        max_score: str = "+inf"
        if after is not None:
            score, last_id = after
            max_score = f"({score!r}"
            if last_id is not None:  # equal scores come in reverse id order: resume after it
                ties: list[tuple[bytes, float]] = self.redis.zrevrangebyscore(  # type: ignore[assignment]
                    self._index, score, score, withscores=True)
                rows = [(m, s) for m, s in ties if _member(m) < last_id]
        older: list[tuple[bytes, float]] = self.redis.zrevrangebyscore(  # type: ignore[assignment]
            self._index, max_score, "-inf", start=0, num=limit + 1, withscores=True)
        rows = (rows + older)[: limit + 1]
        items: list[R] = []
        for raw_id, _score in rows[:limit]:
            record_id = _member(raw_id)
            try:
                items.append(self.get(record_id))
            except NotFound:
                self.redis.zrem(self._index, record_id)
        next_cursor = None
        if len(rows) > limit and limit > 0:
            last_raw, last_score = rows[limit - 1]
            next_cursor = f"{last_score!r}_{_member(last_raw)}"
        return items, next_cursor

    def indexed(self, newest_first: bool = False) -> Iterator[R]:
        """Every indexed record by creation time; entries of vanished records are dropped."""
        ids: list[bytes] = self.redis.zrange(  # type: ignore[assignment]
            self._index, 0, -1, desc=newest_first)
        for raw in ids:
            try:
                yield self.get(_member(raw))
            except NotFound:
                self.redis.zrem(self._index, raw)

    # --- writes ----------------------------------------------------------------------------
    def create(self, record: R) -> R:
        self._write(record)
        self._add_to_index(record)
        return record

    def locked(self, record_id: str, what: str | None = None) -> AbstractContextManager[None]:
        """The record's Redis lock (`{prefix}:lock:{what}:{id}`, ``what`` the kind's name unless
        another lock of the same record is meant)."""
        kind = self.kind
        name = what or kind.lock_name or kind.name
        label = kind.label or kind.name.capitalize()
        return record_lock(self.redis, f"{self._prefix}:lock:{name}:{record_id}",
                           busy=kind.busy, what=f"{label} {record_id}",
                           ttl_s=kind.lock_ttl_s, wait_s=kind.lock_wait_s,
                           thread_local=kind.lock_thread_local)

    def update(self, record_id: str, change: Callable[[R], None],
               then: Callable[[R], None] | None = None) -> R:
        """Reload, ``change`` and save the record under its lock, so no concurrent writer's
        change is lost; ``then`` runs with the saved record before the lock goes."""
        self._check_id(record_id)
        with self.locked(record_id):
            record = self._reload(record_id)
            change(record)
            self._save(record)
            if then is not None:
                then(record)
            return record

    def _reload(self, record_id: str) -> R:
        """The record an `update` changes."""
        return self._load(record_id)

    def _save(self, record: R) -> None:
        """How an `update` saves the changed record."""
        self._write(record)

    def _write(self, record: R) -> None:
        """The bucket first (it is the source of truth), then the Redis copy."""
        body = record.model_dump_json()
        self.storage.put_bytes(self.kind.record_key(record.id), body.encode(),
                               "application/json")
        self._cache(record, body)

    def _cache(self, record: R, body: str | None = None) -> None:
        record_id = record.id
        try:
            pipe: Pipeline = self.redis.pipeline()
            pipe.set(self._cache_key(record_id), body or record.model_dump_json(),
                     ex=CACHE_TTL_S)
            revision = self._revision(record)
            if revision is not None:
                pipe.set(self._rev_key(record_id), revision, ex=CACHE_TTL_S)
            pipe.execute()
        except RedisError as exc:
            log.warning("could not cache %s %s: %s", self.kind.name, record_id, exc)

    def _add_to_index(self, record: R) -> None:
        self.redis.zadd(self._index, {record.id: record.created_at.timestamp()})

    def _forget(self, record_id: str, *more_keys: str) -> None:
        """Drop the Redis copy, revision and index entry (and ``more_keys``) of a record."""
        self.redis.delete(self._cache_key(record_id), self._rev_key(record_id), *more_keys)
        self.redis.zrem(self._index, record_id)

    # --- recovery --------------------------------------------------------------------------
    def iter_stored(self) -> Iterator[R]:
        """Every readable record in the bucket (unreadable ones are logged and skipped)."""
        suffix = "/" + self.kind.file_name
        for key in self.storage.list_keys(self.kind.folder):
            if not key.endswith(suffix):
                continue
            try:
                yield self.kind.model.model_validate_json(self.storage.get_bytes(key))
            except (NotFound, StorageError, ValueError, json.JSONDecodeError) as exc:
                log.warning("skipping unreadable %s record %s: %s", self.kind.name, key, exc)

    def reindex_stored(self) -> Iterator[R]:
        """Re-cache and re-index every record in the bucket (after Redis was lost), yielding
        each one re-indexed."""
        for record in self.iter_stored():
            if not self._indexable(record):
                continue
            self._cache(record)
            self._add_to_index(record)
            yield record

    def _indexable(self, record: R) -> bool:
        """Whether `reindex_stored` takes this record back."""
        return True


