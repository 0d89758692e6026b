"""Asset records: the bucket holds the truth (`assets/{id}/asset.json`), Redis an index and cache.

Redis can be flushed or lost at any time: `rebuild_index` recreates everything it held from the
bucket. Live progress (updated several times a second) lives only in Redis.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError

from ingest.assets.locks import asset_lock
from ingest.assets.models import Asset, AssetStatus, Progress, Stage
from ingest.errors import AssetNotFound, InvalidInput, NotFound, StorageError, TransientError
from ingest.storage import keys
from ingest.storage.s3 import Storage

log = logging.getLogger(__name__)

CACHE_TTL_S = 24 * 3600
TOMBSTONE_TTL_S = 7 * 24 * 3600


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"


def parse_cursor(cursor: str) -> tuple[float, str | None]:
    """`<score>_<id>` as written by `AssetStore.page` (a bare score is still accepted); a
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


class AssetStore:
    def __init__(self, storage: Storage, redis: Redis, prefix: str = "podium") -> None:
        self.storage = storage
        self.redis = redis
        self._index = f"{prefix}:assets"
        self._prefix = prefix

    def _cache_key(self, asset_id: str) -> str:
        return f"{self._prefix}:asset:{asset_id}"

    def _progress_key(self, asset_id: str) -> str:
        return f"{self._prefix}:progress:{asset_id}"

    def _captions_progress_key(self, asset_id: str) -> str:
        return f"{self._prefix}:captions-progress:{asset_id}"

    def _tombstone_key(self, asset_id: str) -> str:
        return f"{self._prefix}:deleted:{asset_id}"

    # --- reads -----------------------------------------------------------------------------
    def get(self, asset_id: str) -> Asset:
        """The asset with live progress; NotFound for unknown or deleted ids."""
        if not keys.is_valid_id(asset_id):
            raise AssetNotFound.of(asset_id)
        asset = self._load(asset_id)
        if asset.status == AssetStatus.PREPARING:
            live = self._live_progress(asset_id)
            if live is not None:
                asset.progress = live
        self._overlay_caption_progress(asset)
        return asset

    def _load(self, asset_id: str) -> Asset:
        try:
            cached = self.redis.get(self._cache_key(asset_id))
            if self.redis.exists(self._tombstone_key(asset_id)):
                raise AssetNotFound.of(asset_id)
        except RedisError as exc:
            log.warning("redis unavailable, reading %s from the bucket: %s", asset_id, exc)
            cached = None
        if cached:
            return Asset.model_validate_json(cached)
        try:
            raw = self.storage.get_bytes(keys.asset_record(asset_id))
        except NotFound as exc:
            raise AssetNotFound.of(asset_id) from exc
        asset = Asset.model_validate_json(raw)
        self._cache(asset)
        return asset

    def exists(self, asset_id: str) -> bool:
        try:
            self._load(asset_id)
            return True
        except NotFound:
            return False

    def page(self, limit: int, cursor: str | None) -> tuple[list[Asset], str | None]:
        """Newest first. The cursor is the last seen (score, id) so inserts never shift pages,
        and assets sharing one created_at (bulk imports, a rebuilt index) are never skipped."""
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
        items: list[Asset] = []
        for raw_id, _score in rows[:limit]:
            asset_id = _member(raw_id)
            try:
                items.append(self.get(asset_id))
            except NotFound:
                self.redis.zrem(self._index, asset_id)
        next_cursor = None
        if len(rows) > limit and limit > 0:
            last_raw, last_score = rows[limit - 1]
            next_cursor = f"{last_score!r}_{_member(last_raw)}"
        return items, next_cursor

    def _overlay_caption_progress(self, asset: Asset) -> None:
        preparing = [t for t in asset.captions if t.status == "preparing"]
        for track in asset.captions:
            track.percent = None
        if not preparing:
            return
        try:
            raw: dict[bytes, bytes] = self.redis.hgetall(  # type: ignore[assignment]
                self._captions_progress_key(asset.id))
        except RedisError:
            return
        for track in preparing:
            value = raw.get(track.language.encode())
            track.percent = float(value) if value is not None else 0.0

    def set_caption_progress(self, asset_id: str, language: str, percent: float) -> None:
        key = self._captions_progress_key(asset_id)
        try:
            self.redis.hset(key, language, f"{min(100.0, max(0.0, percent)):.1f}")
            self.redis.expire(key, CACHE_TTL_S)
        except RedisError as exc:  # progress is cosmetic: never fail a job over it
            log.warning("could not record caption progress of %s: %s", asset_id, exc)

    def _live_progress(self, asset_id: str) -> Progress | None:
        try:
            raw: dict[bytes, bytes] = self.redis.hgetall(  # type: ignore[assignment]
                self._progress_key(asset_id))
        except RedisError:
            return None
        if not raw:
            return None
        data = {k.decode(): v.decode() for k, v in raw.items()}
        return Progress(stage=Stage(data["stage"]), percent=float(data.get("percent", 0)))

    # --- writes ----------------------------------------------------------------------------
    def create(self, asset: Asset) -> Asset:
        self._write(asset)
        self.redis.zadd(self._index, {asset.id: asset.created_at.timestamp()})
        return asset

    def save(self, asset: Asset) -> Asset:
        """Rewrite the record (the bucket first: it is the source of truth)."""
        if self.is_deleted(asset.id):
            raise AssetNotFound(f"Asset {asset.id} was deleted.")
        asset.updated_at = datetime.now(UTC)
        self._write(asset)
        if asset.status == AssetStatus.PREPARING:
            self._follow_stage(asset)
        return asset

    def _follow_stage(self, asset: Asset) -> None:
        """A record that moved to another stage (probe done, waiting for a transcode worker)
        must not keep showing the old stage's live progress; within a stage live wins."""
        live = self._live_progress(asset.id)
        if live is None or live.stage != asset.progress.stage:
            self.set_progress(asset.id, asset.progress.stage, asset.progress.percent)

    def locked(self, asset_id: str) -> AbstractContextManager[None]:
        """The asset's lock (ingest.assets.locks): work that must not interleave with a write."""
        return asset_lock(self, self._prefix, asset_id)

    def update(self, asset_id: str, change: Callable[[Asset], None],
               then: Callable[[Asset], None] | None = None) -> Asset:
        """Reload, ``change`` and save the record under the asset's lock, so no concurrent
        writer's change is lost; ``then`` runs with the saved record before the lock goes."""
        with self.locked(asset_id):
            asset = self._load(asset_id)
            change(asset)
            self.save(asset)
            if then is not None:
                then(asset)
            return asset

    def set_progress(self, asset_id: str, stage: Stage, percent: float) -> None:
        try:
            self.redis.hset(self._progress_key(asset_id),
                            mapping={"stage": stage.value, "percent": f"{min(100.0, percent):.1f}"})
            self.redis.expire(self._progress_key(asset_id), CACHE_TTL_S)
        except RedisError as exc:  # progress is cosmetic: never fail a job over it
            log.warning("could not record progress of %s: %s", asset_id, exc)

    def _write(self, asset: Asset) -> None:
        body = asset.model_dump_json().encode()
        self.storage.put_bytes(keys.asset_record(asset.id), body, "application/json")
        self._cache(asset)

    def _cache(self, asset: Asset) -> None:
        try:
            self.redis.set(self._cache_key(asset.id), asset.model_dump_json(), ex=CACHE_TTL_S)
        except RedisError as exc:
            log.warning("could not cache asset %s: %s", asset.id, exc)

    def delete(self, asset_id: str) -> int:
        """Remove every stored object of the asset; jobs still running see the tombstone.

        Under the asset's lock: a writer in the middle of `update` (it checked the tombstone,
        and is writing `asset.json`) finishes first, and every later one finds the tombstone,
        so no record comes back after the delete."""
        self.get(asset_id)
        with self.locked(asset_id):
            self.redis.set(self._tombstone_key(asset_id), "1", ex=TOMBSTONE_TTL_S)
            removed = self.storage.delete_prefix(keys.asset_prefix(asset_id))
            self.redis.delete(self._cache_key(asset_id), self._progress_key(asset_id))
            self.redis.zrem(self._index, asset_id)
        return removed

    def is_deleted(self, asset_id: str) -> bool:
        try:
            return bool(self.redis.exists(self._tombstone_key(asset_id)))
        except RedisError as exc:
            raise TransientError("The service is unavailable; try again shortly.",
                                 detail=f"redis unavailable: {exc}") from exc

    # --- recovery --------------------------------------------------------------------------
    def iter_stored(self) -> Iterator[Asset]:
        for key in self.storage.list_keys("assets/"):
            if not key.endswith("/asset.json"):
                continue
            try:
                yield Asset.model_validate_json(self.storage.get_bytes(key))
            except (NotFound, StorageError, ValueError, json.JSONDecodeError) as exc:
                log.warning("skipping unreadable record %s: %s", key, exc)

    def rebuild_index(self) -> list[Asset]:
        """Re-index every asset in the bucket; return those not finished (to be re-queued)."""
        unfinished = []
        for asset in self.iter_stored():
            if self.is_deleted(asset.id):
                continue
            self._cache(asset)
            self.redis.zadd(self._index, {asset.id: asset.created_at.timestamp()})
            if asset.status in (AssetStatus.WAITING, AssetStatus.PREPARING):
                unfinished.append(asset)
        return unfinished
