"""The slate job: render the "We'll be right back" card and feed it to the asset pipeline.

The card (ffmpeg lavfi: a colour, drawtext when a font is installed, silence) becomes an
ordinary asset, so it is packaged in the ladder's rungs like any item; `config/slate.json`
names it. Running the job again does nothing while that asset exists and has not failed.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from config import get_settings
from ingest.assets.models import Asset, AssetStatus, CaptionMode, new_asset_id
from ingest.channels import slate
from ingest.errors import NotFound
from ingest.media import commands, ffmpeg
from ingest.storage import keys
from runtime import handles
from workers import pipeline
from workers.events import asset_lifecycle

log = logging.getLogger(__name__)
SLATE_TEXT = "We'll be right back"
RENDER_TIMEOUT_S = 120


def render_default_slate() -> str:
    """Make the deployment's default slate unless one exists; returns its asset id."""
    store = handles.asset_store()
    existing = slate.default_slate_id(store.storage)
    if existing is not None:
        try:
            if store.get(existing).status != AssetStatus.ERRORED:
                return existing
        except NotFound:
            pass
    settings = get_settings()
    font = commands.SLATE_FONT if commands.SLATE_FONT.is_file() else None
    asset = Asset(id=new_asset_id(), title=f"Slate: {SLATE_TEXT}", caption_mode=CaptionMode.NONE,
                  source_filename="slate.mp4")
    with tempfile.TemporaryDirectory(prefix="podium-slate-") as tmp:
        card = Path(tmp) / "slate.mp4"
        ffmpeg.run(commands.slate_card_command(card, text=SLATE_TEXT, fontfile=font,
                                               seconds=2 * settings.segment_duration_s),
                   timeout_s=RENDER_TIMEOUT_S, nice=settings.ffmpeg_nice)
        store.storage.put_file(keys.source(asset.id), card, "video/mp4")
    asset_lifecycle().create(asset)
    slate.record_default_slate(store.storage, asset.id)
    pipeline.start(handles.redis_connection(), asset.id)
    log.info("default slate rendered as asset %s (drawtext: %s)", asset.id, font is not None)
    return asset.id
