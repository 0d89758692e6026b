"""The slate: what a channel shows in gaps and when its queue is empty.

Every channel without a slate of its own uses the deployment's default slate, a generated
"We'll be right back" card with silence (workers.slate renders it through the normal asset
pipeline, in every rung of the ladder). Its asset id is kept in `config/slate.json`.
"""

from __future__ import annotations

import json
import logging

from ingest.assets.store import AssetStore
from ingest.channels.compat import load_media
from ingest.channels.models import AssetMedia
from ingest.errors import Conflict, NotFound
from ingest.storage import keys
from ingest.storage.s3 import Storage

log = logging.getLogger(__name__)


def default_slate_id(storage: Storage) -> str | None:
    try:
        record = json.loads(storage.get_bytes(keys.default_slate()))
    except NotFound:
        return None
    value = record.get("asset_id")
    return value if isinstance(value, str) else None


def record_default_slate(storage: Storage, asset_id: str) -> None:
    storage.put_bytes(keys.default_slate(), json.dumps({"asset_id": asset_id}).encode(),
                      "application/json")


def default_media(store: AssetStore) -> AssetMedia | None:
    """The default slate's media once it is ready (None before)."""
    asset_id = default_slate_id(store.storage)
    if asset_id is None:
        return None
    try:
        return load_media(store, asset_id)
    except (Conflict, NotFound) as exc:
        log.info("default slate %s not usable yet: %s", asset_id, exc)
        return None
