"""A finished upload becomes the slot's asset: the record is made here, the caller starts the
pipeline (as `POST /v1/assets` does)."""

from __future__ import annotations

import logging

from ingest.assets.models import Asset
from ingest.errors import Conflict, PodiumError
from ingest.lifecycle import assets as lifecycle
from ingest.lifecycle.assets import AssetLifecycle
from ingest.lifecycle.uploads import SlotLifecycle
from ingest.storage import keys
from ingest.uploads.models import UploadSlot
from ingest.uploads.slots import ensure_open

log = logging.getLogger(__name__)


def create_asset(slots: SlotLifecycle, assets: AssetLifecycle, slot_id: str, asset_id: str,
                 filename: str | None) -> tuple[UploadSlot, Asset | None]:
    """Create the asset whose source is at ``keys.source(asset_id)`` and move the slot to
    `asset_created`. Returns the slot, and the asset when this call created it (a repeated
    call, e.g. a HEAD after a crash, returns None). If the slot closed meanwhile, the source
    is deleted and the slot's reason raised."""
    slot = slots.store.get(slot_id)
    if slot.asset_id == asset_id:
        return slot, None
    try:
        ensure_open(slots.expire_if_due(slot))
    except PodiumError:
        assets.store.storage.delete_prefix(keys.asset_prefix(asset_id))
        raise
    asset = assets.create(Asset(id=asset_id, title=slot.title, speaker=slot.speaker,
                                language=slot.language, source_filename=filename,
                                max_duration_s=slot.max_duration_s, upload_id=slot_id,
                                owner=slot.owner))
    try:
        slot = slots.asset_created(slot_id, asset_id)
    except PodiumError:
        assets.store.delete(asset_id)  # the slot closed in between: no asset of it stays
        raise
    log.info("upload %s: asset %s created", slot_id, asset_id)
    return slot, asset


def replace_video(slots: SlotLifecycle, assets: AssetLifecycle, slot_id: str, asset_id: str,
                  version: int) -> Asset | None:
    """The slot's asset takes version ``version``, whose source was just uploaded: the asset
    starts over from `waiting` while its last ready version keeps playing. Returns the asset,
    or None when this version was taken already (a repeated call). If the slot closed or the
    asset cannot take it, the uploaded version is deleted and the reason raised."""
    if version < 1:
        raise ValueError("version 0 makes the asset (create_asset)")
    slot = slots.store.get(slot_id)
    current = assets.store.get(asset_id)
    if current.version >= version:
        return None
    try:
        ensure_open(slots.expire_if_due(slot))
        if slot.asset_id != asset_id:
            raise Conflict(f"Upload {slot_id} is not for asset {asset_id}.",
                           code="upload_closed")
        asset = assets.update(asset_id, lambda a: lifecycle.replace(a, version))
    except PodiumError:
        assets.store.storage.delete_prefix(keys.version_root(asset_id, version))
        raise
    log.info("upload %s: asset %s takes version %d", slot_id, asset_id, version)
    return asset
