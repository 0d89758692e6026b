"""The asset as the API shows it (shared/contract.md, Asset JSON): the one builder of that view,
used by the API's `AssetPublic` and by the data of `asset.*` events."""

from __future__ import annotations

from typing import Any

from ingest.assets.models import Asset, CaptionTrack

PUBLIC_FIELDS = frozenset({"id", "status", "title", "speaker", "language", "visibility",
                           "created_at", "duration_s", "progress", "renditions", "captions",
                           "error", "upload_id", "version", "playable"})
PUBLIC_RENDITION_FIELDS = frozenset({"name", "width", "height", "bandwidth", "codecs"})
"""A rendition's encoder settings (rates, level, frame rate) stay internal."""


def playback_url(asset_id: str, public_url: str) -> str:
    return f"{public_url.rstrip('/')}/play/{asset_id}.m3u8"


def public_asset(asset: Asset, public_url: str) -> dict[str, Any]:
    """JSON-ready dict of the public fields, with `playback` set (and `playable` true) once a
    version can play: ready, or the first version still preparing with its first segments
    published (while a replacement is prepared, the previous version plays: `playing_version`)."""
    fields: dict[str, Any] = {name: True for name in PUBLIC_FIELDS}
    fields["renditions"] = {"__all__": set(PUBLIC_RENDITION_FIELDS)}
    view = asset.model_dump(mode="json", include=fields)
    playing = asset.playing_version
    view["playing_version"] = playing
    view["playable"] = playing is not None
    view["playback"] = {"hls": playback_url(asset.id, public_url)} if playing is not None \
        else None
    view["poster"] = (f"{public_url.rstrip('/')}/v1/assets/{asset.id}/poster.jpg"
                      if asset.has_poster else None)
    return view


def public_track(asset_id: str, track: CaptionTrack, public_url: str) -> dict[str, Any]:
    """A caption track with its asset and where to fetch it (data of `captions.ready`)."""
    base = f"{public_url.rstrip('/')}/v1/assets/{asset_id}/captions/{track.language}"
    return {"asset_id": asset_id, **track.model_dump(mode="json", exclude={"percent"}),
            "vtt": f"{base}.vtt", "srt": f"{base}.srt"}
