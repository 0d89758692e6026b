"""`/play`: HLS for viewers. Playlists come through the API; segments come from storage.

Segment delivery (setting `segment_delivery`):
- `presign` (default): media playlists list presigned storage URLs, so segment bytes go from
  S3 to the player and never through Python;
- `cdn`: media playlists list `cdn_base_url/<object key>` (a CDN in front of the bucket);
- `proxy`: the API streams segments itself (a fallback when storage is not reachable by viewers).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from api import tokens
from api.deps import SettingsDep, StoreDep
from config import Settings
from ingest.assets.models import Asset, AssetStatus, Visibility
from ingest.assets.store import AssetStore
from ingest.errors import Forbidden, NotFound
from ingest.hls.playlists import M3U8_TYPE, MEDIA_PLAYLIST, rewrite_uris
from ingest.storage import keys

router = APIRouter(prefix="/play", tags=["playback"])
TokenQuery = Annotated[str | None, Query(max_length=200)]
_CACHE_S = 300.0
_media_cache: dict[tuple[str, str, str], tuple[float, str]] = {}


class PlaybackForbidden(Forbidden):
    code = "playback_token_required"


def playable(store: AssetStore, settings: Settings, asset_id: str, token: str | None) -> Asset:
    """The asset if a viewer with ``token`` may play it: ready, and public or token-holding."""
    asset = store.get(asset_id)
    if asset.visibility == Visibility.PRIVATE and not tokens.verify(
            settings.playback_secret, f"asset:{asset_id}", token):
        raise PlaybackForbidden("This asset is private: add a valid ?token= to the URL.")
    if asset.status != AssetStatus.READY:
        raise NotFound(f"Asset {asset_id} is not ready for playback ({asset.status.value}).",
                       code="asset_not_ready")
    return asset


def _suffix(token: str | None) -> str:
    return f"?token={token}" if token else ""


@router.get("/{asset_id}.m3u8", response_class=Response)
def multivariant(asset_id: str, settings: SettingsDep, store: StoreDep,
                 token: TokenQuery = None) -> Response:
    """The multivariant playlist: every rendition and subtitle track of the asset.

    `subs-{lang}/index.m3u8` becomes `/play/{id}/subs-{lang}.m3u8` like any rendition.
    """
    playable(store, settings, asset_id, token)
    text = store.storage.get_bytes(keys.master_playlist(asset_id)).decode()
    base = f"{settings.public_url.rstrip('/')}/play/{asset_id}"

    def resolve(uri: str) -> str:
        name = uri.removesuffix(f"/{MEDIA_PLAYLIST}")
        return f"{base}/{name}.m3u8{_suffix(token)}"

    return Response(rewrite_uris(text, resolve).dumps(), media_type=M3U8_TYPE,
                    headers={"Cache-Control": "max-age=10"})


@router.get("/{asset_id}/{rendition}.m3u8", response_class=Response)
def media(asset_id: str, rendition: str, settings: SettingsDep, store: StoreDep,
          token: TokenQuery = None) -> Response:
    """A media playlist whose segment URIs a plain HTTP client can fetch."""
    if not keys.is_safe_name(rendition):
        raise NotFound("No such rendition.", code="rendition_not_found")
    playable(store, settings, asset_id, token)
    # Video renditions never change once published; subtitle tracks are edited and deleted.
    cacheable = not rendition.startswith("subs-") and settings.segment_delivery == "presign"
    cache_key = (asset_id, rendition, token or "")
    hit = _media_cache.get(cache_key) if cacheable else None
    if hit and hit[0] > time.monotonic():
        return Response(hit[1], media_type=M3U8_TYPE, headers={"Cache-Control": "max-age=60"})
    try:
        text = store.storage.get_bytes(keys.media_playlist(asset_id, rendition)).decode()
    except NotFound as exc:
        raise NotFound("No such rendition.", code="rendition_not_found") from exc
    resolve = _segment_resolver(settings, store, asset_id, rendition, token)
    body = rewrite_uris(text, resolve).dumps()
    if cacheable:
        _media_cache[cache_key] = (time.monotonic() + _CACHE_S, body)
    if len(_media_cache) > 5000:
        _media_cache.clear()
    max_age = 60 if cacheable else 10
    return Response(body, media_type=M3U8_TYPE, headers={"Cache-Control": f"max-age={max_age}"})


def _segment_resolver(settings: Settings, store: AssetStore, asset_id: str, rendition: str,
                      token: str | None) -> Callable[[str], str]:
    def resolve(uri: str) -> str:
        if not keys.is_safe_name(uri):
            raise NotFound("Bad segment name in playlist.", code="playlist_corrupt")
        key = keys.hls_object(asset_id, f"{rendition}/{uri}")
        if settings.segment_delivery == "cdn" and settings.cdn_base_url:
            return f"{settings.cdn_base_url.rstrip('/')}/{key}"
        if settings.segment_delivery == "proxy":
            base = settings.public_url.rstrip("/")
            return f"{base}/play/{asset_id}/{rendition}/{uri}{_suffix(token)}"
        return store.storage.presign_get(key, settings.presign_ttl_s)
    return resolve


@router.get("/{asset_id}/{rendition}/{segment}")
def segment(asset_id: str, rendition: str, segment: str, settings: SettingsDep,
            store: StoreDep, token: TokenQuery = None) -> StreamingResponse:
    """Proxy delivery of one segment (only with segment_delivery=proxy)."""
    if settings.segment_delivery != "proxy" or not (
            keys.is_safe_name(rendition) and keys.is_safe_name(segment)):
        raise NotFound("No such segment.", code="segment_not_found")
    playable(store, settings, asset_id, token)
    body, length, ctype = store.storage.open_stream(
        keys.hls_object(asset_id, f"{rendition}/{segment}"))
    # Video segments never change; subtitle segments do when a track is edited.
    max_age = 60 if segment.endswith(".vtt") else 86400
    return StreamingResponse(body,
                             media_type=ctype or "application/octet-stream",
                             headers={"Content-Length": str(length),
                                      "Cache-Control": f"max-age={max_age}"})
