"""Asset records: the bucket holds the truth (`assets/{id}/asset.json`), Redis an index and cache
(`ingest.records`).

Redis can be flushed or lost at any time: `rebuild_index` recreates everything it held from the
bucket. Live progress (updated several times a second) lives only in Redis.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from redis.exceptions import RedisError

from ingest.assets.locks import LOCK_TTL_S, WAIT_S, AssetBusy
from ingest.assets.models import Asset, AssetStatus, Progress, Stage
from ingest.errors import AssetNotFound, TransientError
from ingest.records import CACHE_TTL_S, RecordKind, RecordStore
from ingest.storage import keys

log = logging.getLogger(__name__)

TOMBSTONE_TTL_S = 7 * 24 * 3600


def new_revision() -> int:
    """An asset's revision: a new random number at every write of its record (and at
    `AssetStore.touch`), so whatever an API process derived from an older record, under another
    number, is stale. Random rather than a counter, which would start again after Redis was
    flushed and could meet a number a process still holds."""
    return secrets.randbits(62)


class AssetStore(RecordStore[Asset]):
    kind = RecordKind(model=Asset, name="asset", folder="assets/", file_name="asset.json",
                      record_key=keys.asset_record, not_found=AssetNotFound.of, busy=AssetBusy,
                      lock_ttl_s=LOCK_TTL_S, lock_wait_s=WAIT_S)

    def _progress_key(self, asset_id: str) -> str:
        return f"{self._prefix}:progress:{asset_id}"

    def _captions_progress_key(self, asset_id: str) -> str:
        return f"{self._prefix}:captions-progress:{asset_id}"

    def _tombstone_key(self, asset_id: str) -> str:
        return f"{self._prefix}:deleted:{asset_id}"

    def _revision(self, asset: Asset) -> int:
        return new_revision()

    # --- reads -----------------------------------------------------------------------------
    def get(self, asset_id: str) -> Asset:
        """The asset with live progress; NotFound for unknown or deleted ids."""
        asset = super().get(asset_id)
        if asset.status == AssetStatus.PREPARING:
            live = self._live_progress(asset_id)
            if live is not None:
                asset.progress = live
        self._overlay_caption_progress(asset)
        return asset

    def _read_cache(self, asset_id: str) -> bytes | None:
        cached = super()._read_cache(asset_id)
        if self.redis.exists(self._tombstone_key(asset_id)):
            raise AssetNotFound.of(asset_id)
        return cached

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
    def save(self, asset: Asset) -> Asset:
        """Rewrite the record (the bucket first: it is the source of truth)."""
        if self.is_deleted(asset.id):
            raise AssetNotFound(f"Asset {asset.id} was deleted.")
        asset.updated_at = datetime.now(UTC)
        self._write(asset)
        if asset.status == AssetStatus.PREPARING:
            self._follow_stage(asset)
        return asset

    def update(self, asset_id: str, change: Callable[[Asset], None],
               then: Callable[[Asset], None] | None = None) -> Asset:
        """``RecordStore.update``; what ``then`` publishes after the save (a rewritten
        playlist) gets a revision of its own, so nothing rendered in between is kept."""
        try:
            return super().update(asset_id, change, then)
        finally:
            if then is not None:
                self.touch(asset_id)

    def revision(self, asset_id: str) -> int | None:
        """The asset's revision (one GET), given one first if Redis holds none (a record cached
        before revisions, or its revision evicted); None when Redis is unreachable."""
        held = self.cached_revision(asset_id)
        if held is not None:
            return held
        try:
            self.redis.set(self._rev_key(asset_id), new_revision(), ex=CACHE_TTL_S, nx=True)
        except RedisError as exc:
            log.warning("could not give asset %s a revision: %s", asset_id, exc)
            return None
        return self.cached_revision(asset_id)

    def touch(self, asset_id: str) -> None:
        """A new revision without a write of the record: objects viewers read (playlists) were
        changed on their own."""
        try:
            # xx: a deleted asset's revision stays gone
            self.redis.set(self._rev_key(asset_id), new_revision(), ex=CACHE_TTL_S, xx=True)
        except RedisError as exc:
            log.warning("could not renew the revision of asset %s: %s", asset_id, exc)

    def _follow_stage(self, asset: Asset) -> None:
        """A record that moved to another stage (probe done, waiting for a transcode worker)
        must not keep showing the old stage's live progress; within a stage live wins."""
        live = self._live_progress(asset.id)
        if live is None or live.stage != asset.progress.stage:
            self.set_progress(asset.id, asset.progress.stage, asset.progress.percent)

    def _save(self, asset: Asset) -> None:
        self.save(asset)

    def set_progress(self, asset_id: str, stage: Stage, percent: float) -> None:
        try:
            self.redis.hset(self._progress_key(asset_id),
                            mapping={"stage": stage.value, "percent": f"{min(100.0, percent):.1f}"})
            self.redis.expire(self._progress_key(asset_id), CACHE_TTL_S)
        except RedisError as exc:  # progress is cosmetic: never fail a job over it
            log.warning("could not record progress of %s: %s", asset_id, exc)

    def delete(self, asset_id: str) -> int:
        """Remove every stored object of the asset; jobs still running see the tombstone.

        Under the asset's lock: a writer in the middle of `update` (it checked the tombstone,
        and is writing `asset.json`) finishes first, and every later one finds the tombstone,
        so no record comes back after the delete."""
        self.get(asset_id)
        with self.locked(asset_id):
            self.redis.set(self._tombstone_key(asset_id), "1", ex=TOMBSTONE_TTL_S)
            self.redis.delete(self._rev_key(asset_id))  # held playlists go before the objects
            removed = self.storage.delete_prefix(keys.asset_prefix(asset_id))
            self._forget(asset_id, self._progress_key(asset_id))
        return removed

    def is_deleted(self, asset_id: str) -> bool:
        try:
            return bool(self.redis.exists(self._tombstone_key(asset_id)))
        except RedisError as exc:
            raise TransientError("The service is unavailable; try again shortly.",
                                 detail=f"redis unavailable: {exc}") from exc

    # --- recovery --------------------------------------------------------------------------
    def _indexable(self, asset: Asset) -> bool:
        return not self.is_deleted(asset.id)

    def rebuild_index(self) -> list[Asset]:
        """Re-index every asset in the bucket; return those not finished (to be re-queued)."""
        return [asset for asset in self.reindex_stored()
                if asset.status in (AssetStatus.WAITING, AssetStatus.PREPARING)]
