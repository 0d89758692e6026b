"""`/play`: HLS for viewers. Playlists come through the API; segments come from storage.

Segment delivery (setting `segment_delivery`):
- `presign` (default): media playlists list presigned storage URLs, so segment bytes go from
  S3 to the player and never through Python;
- `cdn`: media playlists of PUBLIC assets list `cdn_base_url/<object key>` (a CDN in front of
  the bucket, whose origin must serve `assets/*/hls/*` only: see the README); private assets
  never get a bare CDN URL, their segments are presigned as in `presign`;
- `proxy`: the API streams segments itself (a fallback when storage is not reachable by viewers).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse

from api import revisions, tokens
from api.deps import SettingsDep, StoreDep
from api.playlist_cache import PlaylistCache
from api.responses import errors
from config import Settings, get_settings
from ingest.assets.models import Asset, Visibility
from ingest.assets.store import AssetStore
from ingest.errors import Forbidden, NotFound
from ingest.hls.playlists import M3U8_TYPE, MEDIA_PLAYLIST, rewrite_uris
from ingest.storage import keys
from runtime import handles

router = APIRouter(prefix="/play", tags=["playback"], responses=errors(403, 404, 422, 503))
PLAYLIST: dict[int | str, dict[str, Any]] = {
    200: {"content": {M3U8_TYPE: {}}}, 304: {"description": "Not modified (If-None-Match)"}}
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match", max_length=1000)]
MASTER_CACHE_S = 10.0
"""Longest a rendered multivariant playlist is reused: as long as a client may keep it
(Cache-Control max-age=10). Its key holds the asset's revision, which every change of the
record, and every playlist written after one, renews: a new version, a caption track or a
deletion shows at once in every API process; this is only a bound on memory."""
TokenQuery = Annotated[str | None, Query(max_length=200)]
CACHE_S = 300.0
"""Longest a rewritten media playlist is reused (never more than a quarter of its URLs' life)."""
MAX_PRESIGN_S = 7 * 24 * 3600
"""The longest expiry an S3 (SigV4) presigned URL may have."""
PLAYBACK_MARGIN_S = 900
"""Public segment URLs outlive the asset's duration by this much: a VOD player loads the media
playlist once and must be able to fetch its last segment at the end of the video."""
_HELD_MAX = 10_000
"""Assets whose playback facts a process holds; past it, they are forgotten and read again."""

MasterKey = tuple[str, int, str | None]
"""(asset id, revision, the viewer's verified token or None): all that changes the answer."""
CacheKey = tuple[str, int, str, int | None, int | None]
"""(asset id, version, rendition, expiry of the viewer's token or None, the revision for a
subtitle track): all that changes the answer. A published video rendition never changes, so
it outlives changes of the record (caption tracks); a subtitle track changes with them."""
_cache_lock = threading.Lock()
_media_cache: PlaylistCache[CacheKey] | None = None
_master_cache: PlaylistCache[MasterKey] | None = None
_held: dict[str, Playback] = {}
"""Asset id -> its playback facts at the revision they were read under."""


def media_cache() -> PlaylistCache[CacheKey]:
    """The process's cache of rewritten media playlists (presign delivery), bounded in bytes."""
    global _media_cache
    with _cache_lock:
        if _media_cache is None:
            _media_cache = PlaylistCache(get_settings().playlist_cache_bytes)
        return _media_cache


def master_cache() -> PlaylistCache[MasterKey]:
    """The process's cache of rendered multivariant playlists, bounded in bytes."""
    global _master_cache
    with _cache_lock:
        if _master_cache is None:
            _master_cache = PlaylistCache(get_settings().playlist_cache_bytes)
        return _master_cache


def etag_of(body: str) -> str:
    return '"' + hashlib.sha1(body.encode()).hexdigest()[:20] + '"'


def answer(body: str, if_none_match: str | None, max_age: int) -> Response:
    """The playlist, or 304 when the client holds it already (its ETag in If-None-Match)."""
    etag = etag_of(body)
    headers = {"Cache-Control": f"max-age={max_age}", "ETag": etag}
    if if_none_match and etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=M3U8_TYPE, headers=headers)


class PlaybackForbidden(Forbidden):
    code = "playback_token_required"


@dataclass(frozen=True)
class Grant:
    """What a viewer may play with: for a private asset, the verified token (the only thing of
    the request that ever reaches a playlist URI) and its expiry; for a public one, nothing."""

    token: str | None = None
    expires_at: int | None = None

    @property
    def query(self) -> str:
        return f"?token={quote(self.token, safe='')}" if self.token else ""

    def url_lifetime(self, settings: Settings, duration_s: float | None, now: float) -> int:
        """Seconds a presigned segment URL lives: until the token expires (private), else the
        short public default, stretched to cover the asset's duration."""
        if self.expires_at is not None:
            return int(max(1, min(self.expires_at - now, MAX_PRESIGN_S)))
        duration = math.ceil(duration_s or 0) + PLAYBACK_MARGIN_S
        return int(min(max(settings.presign_ttl_s, duration), MAX_PRESIGN_S))


@dataclass(frozen=True)
class Playback:
    """What the playlist routes need of an asset record, held per revision: a request whose
    revision matches is authorised and answered without the record (no pydantic)."""

    asset_id: str
    revision: int | None
    private: bool
    status: str
    version: int | None
    """The version viewers get; None while nothing is playable."""
    growing: bool
    """Viewers get a version still being encoded (its playlists grow): no version was ever
    ready and the first one is `playable`."""
    duration_s: float | None

    @classmethod
    def of(cls, asset: Asset, revision: int | None = None) -> Playback:
        return cls(asset.id, revision, asset.visibility == Visibility.PRIVATE,
                   asset.status.value, asset.playing_version, asset.published_version is None,
                   asset.duration_s)

    def grant(self, secret: str, token: str | None) -> Grant:
        """The viewer's grant: playable (ready, or preparing with its first segments
        published), and public or with a valid token. An unverified token of a public asset is
        ignored; of a private one, refused."""
        grant = Grant()
        if self.private:
            expires = tokens.verified_expiry(secret, f"asset:{self.asset_id}", token)
            if expires is None:
                raise PlaybackForbidden("This asset is private: add a valid ?token= to the URL.")
            grant = Grant(token, expires)
        if self.version is None:
            raise NotFound(f"Asset {self.asset_id} is not ready for playback ({self.status}).",
                           code="asset_not_ready")
        return grant

    @property
    def playing(self) -> int:
        """The version viewers get (``grant`` made sure there is one)."""
        assert self.version is not None, "grant() refuses an asset with no playable version"
        return self.version


def authorise(store: AssetStore, settings: Settings, asset_id: str,
              token: str | None) -> tuple[Asset, Grant]:
    """The asset and the viewer's grant (`Playback.grant`)."""
    asset = store.get(asset_id)
    return asset, Playback.of(asset).grant(settings.playback_secret, token)


def playing(asset: Asset) -> int:
    """The version viewers get (``authorise`` made sure there is one)."""
    version = asset.playing_version
    assert version is not None, "authorise() refuses an asset with no playable version"
    return version


def playable(store: AssetStore, settings: Settings, asset_id: str, token: str | None) -> Asset:
    """The asset if a viewer with ``token`` may play it: a version ready, and public or
    token-holding."""
    return authorise(store, settings, asset_id, token)[0]


async def held(asset_id: str) -> Playback | None:
    """The asset's playback facts this process holds, if Redis still has their revision
    (one GET, on the event loop); None: the route reads the record."""
    facts = _held.get(asset_id)
    if facts is None or facts.revision is None:
        return None
    revision = await revisions.read(handles.asset_store().revision_key(asset_id))
    return facts if revision == facts.revision else None


def load(store: AssetStore, asset_id: str) -> Playback:
    """The asset's playback facts from its record, held under the revision read first (a
    change racing the read leaves them under an older revision, never a newer one)."""
    revision = store.revision(asset_id)
    facts = Playback.of(store.get(asset_id), revision)
    if revision is not None:
        with _cache_lock:
            if len(_held) >= _HELD_MAX:
                _held.clear()
            _held[asset_id] = facts
    return facts


def _granted(facts: Playback, token: str | None) -> Grant | None:
    """The grant, or None where the route answers with an error (it says which)."""
    try:
        return facts.grant(get_settings().playback_secret, token)
    except (Forbidden, NotFound):
        return None


async def multivariant_hit(asset_id: str, token: str | None,
                           if_none_match: str | None) -> Response | None:
    """`multivariant`'s answer when this process holds it for the asset's revision."""
    facts = await held(asset_id)
    grant = _granted(facts, token) if facts is not None else None
    if facts is None or grant is None or facts.revision is None:
        return None
    body = master_cache().get((asset_id, facts.revision, grant.token), time.time())
    return answer(body, if_none_match, _master_max_age(facts)) if body is not None else None


async def media_hit(asset_id: str, rendition: str, token: str | None,
                    if_none_match: str | None) -> Response | None:
    """`media`'s answer when this process holds it for the asset's revision."""
    facts = await held(asset_id)
    grant = _granted(facts, token) if facts is not None else None
    if facts is None or grant is None or facts.revision is None:
        return None
    hit = media_cache().get(_media_key(facts, rendition, grant), time.time())
    return (answer(hit, if_none_match, _media_max_age(rendition, cached=True))
            if hit is not None else None)


@router.get("/{asset_id}.m3u8", response_class=Response, responses=PLAYLIST)
def multivariant(asset_id: str, settings: SettingsDep, store: StoreDep,
                 token: TokenQuery = None,
                 if_none_match: IfNoneMatch = None) -> Response:
    """The multivariant playlist: every rendition and subtitle track of the asset.

    `subs-{lang}/index.m3u8` becomes `/play/{id}/subs-{lang}.m3u8` like any rendition. The
    rendered body is reused per (revision, token): `multivariant_hit` answers with it.
    """
    facts = load(store, asset_id)
    grant = facts.grant(settings.playback_secret, token)
    version, now = facts.playing, time.time()
    key: MasterKey | None = (None if facts.revision is None
                             else (asset_id, facts.revision, grant.token))
    body = master_cache().get(key, now) if key is not None else None
    if body is None:
        text = store.storage.get_bytes(keys.master_playlist(asset_id, version)).decode()
        base = f"{settings.public_url.rstrip('/')}/play/{asset_id}"

        def resolve(uri: str) -> str:
            name = uri.removesuffix(f"/{MEDIA_PLAYLIST}")
            return f"{base}/{name}.m3u8{grant.query}"

        body = rewrite_uris(text, resolve).dumps()
        if key is not None:
            # a growing version's playlist is rewritten with the measured bandwidths once ready
            master_cache().put(key, body, now + (1 if facts.growing else MASTER_CACHE_S))
    return answer(body, if_none_match, _master_max_age(facts))


def _master_max_age(facts: Playback) -> int:
    return 1 if facts.growing else 10


@router.get("/{asset_id}/{rendition}.m3u8", response_class=Response, responses=PLAYLIST)
def media(asset_id: str, rendition: str, settings: SettingsDep, store: StoreDep,
          token: TokenQuery = None, if_none_match: IfNoneMatch = None) -> Response:
    """A media playlist whose segment URIs a plain HTTP client can fetch."""
    if not keys.is_safe_name(rendition):
        raise NotFound("No such rendition.", code="rendition_not_found")
    facts = load(store, asset_id)
    grant = facts.grant(settings.playback_secret, token)
    # Renditions of a published version never change, subtitle tracks change with the record
    # (a new revision); a version still encoding grows without one.
    key: CacheKey | None = None
    if settings.segment_delivery == "presign" and not facts.growing and facts.revision is not None:
        key = _media_key(facts, rendition, grant)
    now = time.time()
    hit = media_cache().get(key, now) if key is not None else None
    if hit is not None:
        return answer(hit, if_none_match, _media_max_age(rendition, cached=True))
    version = facts.playing
    try:
        text = store.storage.get_bytes(keys.media_playlist(asset_id, rendition, version)).decode()
    except NotFound as exc:
        raise NotFound("No such rendition.", code="rendition_not_found") from exc
    lifetime = grant.url_lifetime(settings, facts.duration_s, now)
    resolve = _segment_resolver(settings, store, asset_id, version, rendition, grant, lifetime,
                                private=facts.private)
    body = rewrite_uris(text, resolve).dumps()
    if key is not None:
        media_cache().put(key, body, now + min(CACHE_S, lifetime / 4))
    return answer(body, if_none_match,
                  1 if facts.growing else _media_max_age(rendition, key is not None))


def _media_key(facts: Playback, rendition: str, grant: Grant) -> CacheKey:
    subtitles = rendition.startswith("subs-")
    return (facts.asset_id, facts.playing, rendition, grant.expires_at,
            facts.revision if subtitles else None)


def _media_max_age(rendition: str, cached: bool) -> int:
    """A published video rendition never changes; a subtitle track may be edited."""
    return 60 if cached and not rendition.startswith("subs-") else 10


def _segment_resolver(settings: Settings, store: AssetStore, asset_id: str, version: int,
                      rendition: str, grant: Grant, lifetime: int,
                      private: bool) -> Callable[[str], str]:
    def resolve(uri: str) -> str:
        if not keys.is_safe_name(uri):
            raise NotFound("Bad segment name in playlist.", code="playlist_corrupt")
        # only ever an object of the HLS tree: never the source, the record or caption data
        key = keys.hls_object(asset_id, f"{rendition}/{uri}", version)
        if settings.segment_delivery == "cdn" and settings.cdn_base_url and not private:
            return f"{settings.cdn_base_url.rstrip('/')}/{key}"
        if settings.segment_delivery == "proxy":
            return proxy_url(settings, asset_id, version, f"{rendition}/{uri}", grant.token)
        return store.storage.presign_get(key, lifetime)
    return resolve


def proxy_url(settings: Settings, asset_id: str, version: int, name: str,
              token: str | None) -> str:
    """Proxy delivery's URL of one packaged file of a version (an older version's files stay
    reachable: a channel keeps playing the version it queued)."""
    query = [f"v={version}"] if version else []
    if token:
        query.append(f"token={quote(token, safe='')}")
    tail = f"?{'&'.join(query)}" if query else ""
    return f"{settings.public_url.rstrip('/')}/play/{asset_id}/{name}{tail}"


@router.get("/{asset_id}/{rendition}/{segment}", response_class=StreamingResponse,
            responses={200: {"content": {"video/mp2t": {}, "text/vtt": {}}}})
def segment(asset_id: str, rendition: str, segment: str, settings: SettingsDep,
            store: StoreDep, token: TokenQuery = None,
            v: Annotated[int | None, Query(ge=0, le=1_000_000)] = None) -> StreamingResponse:
    """Proxy delivery of one segment (only with segment_delivery=proxy); `v` names an
    earlier version (a channel plays the version it queued)."""
    if settings.segment_delivery != "proxy" or not (
            keys.is_safe_name(rendition) and keys.is_safe_name(segment)):
        raise NotFound("No such segment.", code="segment_not_found")
    asset = playable(store, settings, asset_id, token)
    version = playing(asset) if v is None else v
    if version > asset.version:
        raise NotFound("No such segment.", code="segment_not_found")
    body, length, ctype = store.storage.open_stream(
        keys.hls_object(asset_id, f"{rendition}/{segment}", version))
    # Video segments never change; subtitle segments do when a track is edited.
    max_age = 60 if segment.endswith(".vtt") else 86400
    # a private asset's segment stays in the viewer's own cache: a shared one would go on
    # serving it by its URL after the token in that URL has expired
    scope = "" if asset.visibility == Visibility.PUBLIC else "private, "
    return StreamingResponse(body,
                             media_type=ctype or "application/octet-stream",
                             headers={"Content-Length": str(length),
                                      "Cache-Control": f"{scope}max-age={max_age}"})
