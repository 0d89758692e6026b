"""The publish job: check the renditions in storage and write the multivariant playlist last."""

from __future__ import annotations

import logging

from config import get_settings
from ingest.assets.models import Asset, AssetStatus, CaptionStatus, Stage
from ingest.captions.publishing import carry_tracks, rendition_published, subtitle_tracks
from ingest.hls import publishing
from ingest.lifecycle import assets as lifecycle
from ingest.lifecycle.assets import AssetLifecycle
from workers import stages, workspace

log = logging.getLogger(__name__)


def publish_asset(asset_id: str) -> str:
    """Check the renditions in storage and write the multivariant playlist last."""
    return stages.run_stage(asset_id, Stage.PUBLISH, {AssetStatus.PREPARING}, _publish)


def _publish(assets: AssetLifecycle, asset: Asset) -> str:
    asset_id, store = asset.id, assets.store
    assert asset.source is not None, "probe runs first"
    plans = stages.plans_for(asset)
    published = publishing.verify_renditions(store.storage, asset_id, plans,
                                             asset.source.duration_s, asset.version)
    block = get_settings().captions_block_ready
    caption_segment_s = float(get_settings().segment_duration_s)  # as the captions job's

    def change(a: Asset) -> None:
        a.renditions, a.duration_s = published.renditions, published.duration_s
        waiting = block and any(t.status == CaptionStatus.PREPARING for t in a.captions)
        lifecycle.publish(a, wait_for_captions=waiting)
        carry_tracks(store.storage, a, caption_segment_s)
        subtitles = subtitle_tracks(
            a, lambda lang: rendition_published(store.storage, a.id, lang, a.version))
        publishing.write_master(store.storage, a.id, published.renditions, subtitles, a.version)

    # Under the asset's lock: a caption job finishing now either lands before (and is listed
    # here) or after (and rewrites the playlist itself). Waiting for captions, the new stage's
    # live progress starts at 0 (AssetStore.save follows the stage). `asset.ready` is emitted
    # once the record is saved.
    assets.update(asset_id, change)
    workspace.clean(asset_id)
    return "ready"
