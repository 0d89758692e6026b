"""A finished upload becomes the slot's asset: the record is made here, the caller starts the
pipeline (as `POST /v1/assets` does)."""

from __future__ import annotations

import logging

from ingest.assets.models import Asset
from ingest.assets.store import AssetStore
from ingest.errors import PodiumError
from ingest.storage import keys
from ingest.uploads.models import UploadSlot, UploadStatus
from ingest.uploads.slots import SlotStore, ensure_open

log = logging.getLogger(__name__)


def create_asset(slots: SlotStore, assets: AssetStore, slot_id: str, asset_id: str,
                 filename: str | None) -> tuple[UploadSlot, Asset | None]:
    """Create the asset whose source is at ``keys.source(asset_id)`` and move the slot to
    `asset_created`. Returns the slot, and the asset when this call created it (a repeated
    call, e.g. a HEAD after a crash, returns None). If the slot closed meanwhile, the source
    is deleted and the slot's reason raised."""
    slot = slots.get(slot_id)
    if slot.asset_id == asset_id:
        return slot, None
    try:
        slots.open_for_data(slot_id)
    except PodiumError:
        assets.storage.delete_prefix(keys.asset_prefix(asset_id))
        raise
    asset = Asset(id=asset_id, title=slot.title, speaker=slot.speaker, language=slot.language,
                  source_filename=filename, max_duration_s=slot.max_duration_s)
    assets.create(asset)
    try:
        slot = slots.move(slot_id, UploadStatus.ASSET_CREATED, asset_id=asset_id,
                          check=ensure_open)
    except PodiumError:
        assets.delete(asset_id)
        raise
    log.info("upload %s: asset %s created", slot_id, asset_id)
    return slot, asset
