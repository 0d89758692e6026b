"""`/live`: a channel as a live HLS stream (viewers).

Playlists are computed from the channel document and the clock (ingest.channels.schedule);
segments are the assets' own, served the same way as `/play` serves them (presigned storage
URLs, a CDN, or the API's proxy), never re-encoded. A media playlist changes once per segment,
so its body is kept until then (per channel revision) and answered with an ETag. During a cut
to a live stream the stream's segments (presigned, as `/live-streams` gives them) come from its
HLS state, read at most every half second per API process (``_feeds``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Response

from api import revisions, tokens
from api.deps import ChannelsDep, SettingsDep, StoreDep
from api.responses import errors
from api.routes.play import PlaybackForbidden, proxy_url
from config import Settings, get_settings
from ingest.assets.models import CaptionStatus
from ingest.assets.store import AssetStore
from ingest.channels import live
from ingest.channels.models import Channel, ChannelState, segment_name
from ingest.channels.playlists import (
    channel_variants,
    media_playlist,
    multivariant,
    pick_rendition,
    variant_sources,
)
from ingest.channels.schedule import PlayedSegment, Timeline
from ingest.errors import NotFound
from ingest.hls.playlists import M3U8_TYPE, parse_media_segments
from ingest.hls.webvtt_segments import segment_name as vtt_segment_name
from ingest.live.hls import segment_name as live_segment_name
from ingest.storage import keys
from ingest.storage.s3 import Storage
from runtime import handles

log = logging.getLogger(__name__)
router = APIRouter(prefix="/live", tags=["live"], responses=errors(403, 404, 409, 422, 503))
PLAYLIST: dict[int | str, dict[str, Any]] = {
    200: {"content": {M3U8_TYPE: {}}}, 304: {"description": "Not modified (If-None-Match)"}}
TokenQuery = Annotated[str | None, Query(max_length=200)]
EMPTY_VTT = "WEBVTT\n\n"
MEDIA_MAX_AGE_S = 2
"""Live media playlists: at most half a target duration in caches (RFC 8216bis 6.2.2)."""
MULTIVARIANT_MAX_AGE_S = 5
_BODIES_MAX = 2000
_CAPTIONS_TTL_S = 30.0

_bodies: dict[tuple[object, ...], tuple[str, str]] = {}
_windows: dict[tuple[object, ...], tuple[Window, ...]] = {}
"""Media playlist bodies, each for the span until its window changes (the next segment's end):
the current one, and the next one once rendered ahead of its boundary."""
_ahead: set[tuple[object, ...]] = set()
"""Windows being rendered ahead (one at a time per playlist)."""
_flights: dict[tuple[object, ...], threading.Lock] = {}
_presigned: dict[str, tuple[float, str]] = {}
"""Presigned segment URLs, reused for half their lifetime (a window slides one at a time)."""
_captions: dict[tuple[str, int, str], tuple[float, int]] = {}
_live_feeds: dict[str, tuple[float, live.LiveFeed | None]] = {}
FEED_TTL_S = 0.5
"""A live stream's state answers this process's requests for half a second (segments are 2 s)."""
_guard = threading.Lock()


@dataclass(frozen=True)
class Window:
    """A rendered media playlist and the span of time it is the answer for."""

    starts: float
    ends: float
    body: str
    etag: str


def _window_at(key: tuple[object, ...], now: float) -> tuple[Window | None, bool]:
    """The held window for ``now``, and whether it is the last one held (none rendered
    ahead of it yet)."""
    held = _windows.get(key, ())
    for n, window in enumerate(held):
        if window.starts <= now < window.ends:
            return window, n == len(held) - 1
    return None, False


class ChannelOffAir(NotFound):
    code = "channel_off_air"


def watchable(channels: ChannelsDep, settings: Settings, channel_id: str,
              token: str | None) -> Timeline:
    """The channel's timeline if a viewer with ``token`` may watch it and it ever went on air."""
    return _viewable(channels.timeline(channel_id), settings, token)


def _viewable(timeline: Timeline, settings: Settings, token: str | None) -> Timeline:
    channel = timeline.channel
    if channel.visibility == "private" and not tokens.verify(
            settings.playback_secret, f"channel:{channel.id}", token):
        raise PlaybackForbidden("This channel is private: add a valid ?token= to the URL.")
    if not channel.timeline:
        raise ChannelOffAir(f"Channel {channel.id} has not gone on air yet.")
    return timeline


async def _held(channel_id: str, token: str | None) -> Timeline | None:
    """The timeline this process compiled, if Redis still has its revision (one GET on the
    event loop) and the viewer may watch it; None: the route reads the channel."""
    channels = handles.channel_store()
    if not keys.is_valid_id(channel_id):
        return None
    timeline = channels.held(channel_id,
                             await revisions.read(channels.revision_key(channel_id)))
    if timeline is None:
        return None
    try:
        return _viewable(timeline, get_settings(), token)
    except (PlaybackForbidden, NotFound):  # the route answers with the error
        return None


async def multivariant_hit(channel_id: str, token: str | None,
                           if_none_match: str | None) -> Response | None:
    """`live_multivariant`'s answer when this process holds it for the channel's revision."""
    timeline = await _held(channel_id, token)
    if timeline is None:
        return None
    channel = timeline.channel
    hit = _bodies.get(("mv", channel_id, channel.revision, _suffix(channel, token)))
    return (_answer(hit[0], hit[1], if_none_match, MULTIVARIANT_MAX_AGE_S)
            if hit is not None else None)


async def media_hit(channel_id: str, name: str, token: str | None,
                    if_none_match: str | None) -> Response | None:
    """`live_media`'s answer when this process holds the current window for the channel's
    revision (until the next segment ends)."""
    timeline = await _held(channel_id, token)
    if timeline is None or timeline.live_streams():  # a cut: the window follows the stream
        return None
    channel = timeline.channel
    key = ("media", channel_id, channel.revision, name, _suffix(channel, token))
    held, last = _window_at(key, time.time())
    if held is None:
        return None
    if last and key not in _ahead:  # the next window, ready before its boundary comes
        _ahead.add(key)
        asyncio.get_running_loop().run_in_executor(
            None, _render_ahead, timeline, name, get_settings(), token, held.ends, key)
    return _answer(held.body, held.etag, if_none_match, MEDIA_MAX_AGE_S)


def with_live(timeline: Timeline, storage: Storage) -> Timeline:
    """The timeline with snapshots of the live streams it cuts to (unchanged without a cut)."""
    streams = timeline.live_streams()
    if not streams:
        return timeline
    feeds = {}
    now = time.monotonic()
    for stream_id in sorted(streams):
        hit = _live_feeds.get(stream_id)
        if hit is None or hit[0] <= now:
            hls = live.load_hls(storage, stream_id)
            hit = (now + FEED_TTL_S, live.feed_of(hls) if hls is not None else None)
            with _guard:
                if len(_live_feeds) > 1000:
                    _live_feeds.clear()
                _live_feeds[stream_id] = hit
        if hit[1] is not None:
            feeds[stream_id] = hit[1]
    return timeline.with_feeds(feeds)


def _feeds_version(timeline: Timeline) -> tuple[object, ...]:
    return tuple(sorted((sid, f.version) for sid, f in timeline.feeds.items()))


def _suffix(channel: Channel, token: str | None) -> str:
    """Only a verified token of a private channel is repeated in the URIs, encoded."""
    return f"?token={quote(token, safe='')}" if token and channel.visibility == "private" else ""


def _answer(body: str, etag: str, if_none_match: str | None, max_age: int) -> Response:
    headers = {"Cache-Control": f"public, max-age={max_age}", "ETag": etag}
    if if_none_match and etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=M3U8_TYPE, headers=headers)


def _etag(body: str) -> str:
    return '"' + hashlib.sha1(body.encode()).hexdigest()[:20] + '"'


def _cached(key: tuple[object, ...], render: Callable[[], str]) -> tuple[str, str]:
    hit = _bodies.get(key)
    if hit is not None:
        return hit
    body = render()
    entry = (body, _etag(body))
    with _guard:
        if len(_bodies) >= _BODIES_MAX:
            _bodies.clear()
        _bodies[key] = entry
    return entry


@router.get("/{channel_id}.m3u8", response_class=Response, responses=PLAYLIST)
def live_multivariant(channel_id: str, settings: SettingsDep, channels: ChannelsDep,
                      token: TokenQuery = None,
                      if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """The channel's multivariant playlist: one variant per rung, subtitle tracks."""
    timeline = watchable(channels, settings, channel_id, token)
    channel = timeline.channel
    suffix = _suffix(channel, token)
    base = f"{settings.public_url.rstrip('/')}/live/{channel_id}"

    def render() -> str:
        return multivariant(channel_variants(variant_sources(channel)), channel.languages,
                            lambda v: f"{base}/{v.name}.m3u8{suffix}",
                            lambda lang: f"{base}/subs-{lang}.m3u8{suffix}")
    body, etag = _cached(("mv", channel_id, channel.revision, suffix), render)
    return _answer(body, etag, if_none_match, MULTIVARIANT_MAX_AGE_S)


@router.get("/{channel_id}/empty.vtt", response_class=Response,
            responses={200: {"content": {"text/vtt": {}}}})
def empty_cues(channel_id: str) -> Response:
    """An empty WebVTT segment: stands in for items without a subtitle track."""
    return Response(EMPTY_VTT, media_type="text/vtt",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/{channel_id}/{name}.m3u8", response_class=Response, responses=PLAYLIST)
def live_media(channel_id: str, name: str, settings: SettingsDep, channels: ChannelsDep,
               store: StoreDep, token: TokenQuery = None,
               if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """A media playlist: the sliding window of the last `window_s` seconds."""
    timeline = with_live(watchable(channels, settings, channel_id, token), store.storage)
    channel = timeline.channel
    now = time.time()
    key: tuple[object, ...] = ("media", channel_id, channel.revision, name,
                               _suffix(channel, token))
    if timeline.feeds:  # a cut: the window also changes as the stream publishes
        key += (_feeds_version(timeline),)
    held, _ = _window_at(key, now)
    if held is None:
        with _single_flight(key):  # viewers arrive together: one renders, the rest reuse
            held, _ = _window_at(key, now)
            if held is None:
                held = _render_window(timeline, name, settings, store, token, now, key)
    return _answer(held.body, held.etag, if_none_match, MEDIA_MAX_AGE_S)


def _render_window(timeline: Timeline, name: str, settings: Settings, store: AssetStore,
                   token: str | None, now: float, key: tuple[object, ...]) -> Window:
    """The window at ``now``, held (with the ones still to come) until it changes."""
    channel = timeline.channel
    window = timeline.window(now)
    uri = _uri_builder(channel, name, settings, store, token)
    last = channel.timeline[-1]
    ended = channel.state == ChannelState.IDLE and not last.on_air and last.from_t <= now
    upcoming = timeline.segment_at(now)
    next_seq, next_disc = (upcoming.seq, upcoming.disc) if upcoming else (last.seq, last.disc)
    body = media_playlist(window, target_duration=channel.target_duration, next_seq=next_seq,
                          next_disc=next_disc, uri=uri, ended=ended)
    rendered = Window(upcoming.start if upcoming is not None else now,
                      upcoming.end if upcoming is not None else now + 1.0, body, _etag(body))
    with _guard:
        if len(_windows) >= _BODIES_MAX:
            _windows.clear()
        held = [w for w in _windows.get(key, ()) if w.ends > now and w.starts != rendered.starts]
        _windows[key] = tuple(sorted([*held, rendered], key=lambda w: w.starts))
    return rendered


def _render_ahead(timeline: Timeline, name: str, settings: Settings, token: str | None,
                  at: float, key: tuple[object, ...]) -> None:
    """Render the window that starts at ``at`` (a segment boundary) before viewers ask for
    it: at the boundary they get it from memory instead of all waiting for one render. A
    timeline is the channel document and the clock alone, so it is the same text as a render
    at ``at`` would give; an edit meanwhile makes another revision, another key."""
    try:
        _render_window(timeline, name, settings, handles.asset_store(), token, at, key)
    except Exception:  # the route renders it when it is asked for: say why not here
        log.warning("live playlist %s not rendered ahead", key, exc_info=True)
    finally:
        _ahead.discard(key)


@contextmanager
def _single_flight(key: tuple[object, ...]) -> Iterator[None]:
    with _guard:
        lock = _flights.setdefault(key, threading.Lock())
        if len(_flights) > _BODIES_MAX:
            _flights.clear()
            _flights[key] = lock
    with lock:
        yield


def _uri_builder(channel: Channel, name: str, settings: Settings, store: AssetStore,
                 token: str | None) -> Callable[[PlayedSegment], str]:
    base = settings.public_url.rstrip("/")
    if name.startswith("subs-"):
        language = name.removeprefix("subs-")
        if language not in channel.languages:
            raise NotFound("No such subtitle track.", code="rendition_not_found")
        empty = f"{base}/live/{channel.id}/empty.vtt"

        def subtitle(segment: PlayedSegment) -> str:
            if segment.block.live is not None:
                return empty  # live captions are the stream's own (not in channels yet)
            version = channel.media[segment.asset_id].version
            if segment.index >= _caption_segments(store, segment.asset_id, version, language):
                return empty
            folder = keys.subtitle_rendition(language)
            return segment_url(settings, store, segment.asset_id, folder,
                               vtt_segment_name(segment.index), version)
        return subtitle
    variant = next((v for v in channel_variants(variant_sources(channel)) if v.name == name),
                   None)
    if variant is None:
        raise NotFound("No such rendition.", code="rendition_not_found")

    def video(segment: PlayedSegment) -> str:
        if segment.block.live is not None:
            return live_segment_url(settings, store.storage, channel, segment, variant.height)
        media = channel.media[segment.asset_id]
        rendition = pick_rendition(media, variant.height)
        return segment_url(settings, store, segment.asset_id, rendition.name,
                           segment_name(segment.index), media.version)
    return video


def live_segment_url(settings: Settings, storage: Storage, channel: Channel,
                     segment: PlayedSegment, height: int) -> str:
    """A live stream's segment in its rendition closest to the variant's ``height``,
    presigned as `/live-streams` gives it."""
    stream_id = segment.asset_id
    rendition = pick_rendition(channel.live_sources[stream_id], height)
    key = keys.live_hls_object(stream_id, f"{rendition.name}/{live_segment_name(segment.index)}")
    hit = _presigned.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    url = storage.presign_get(key, settings.presign_ttl_s)
    with _guard:
        if len(_presigned) >= 50_000:
            _presigned.clear()
        _presigned[key] = (time.monotonic() + settings.presign_ttl_s / 2, url)
    return url


def segment_url(settings: Settings, store: AssetStore, asset_id: str, folder: str,
                name: str, version: int = 0) -> str:
    """The URL of one packaged file of a version of an asset, as `/play` would give it (the
    version the channel queued: a replacement of the video never changes what it plays)."""
    key = keys.hls_object(asset_id, f"{folder}/{name}", version)
    if settings.segment_delivery == "cdn" and settings.cdn_base_url:
        return f"{settings.cdn_base_url.rstrip('/')}/{key}"
    if settings.segment_delivery == "proxy":
        grant, _ = tokens.issue(settings.playback_secret, f"asset:{asset_id}",
                                settings.playback_token_ttl_s)
        return proxy_url(settings, asset_id, version, f"{folder}/{name}", grant)
    hit = _presigned.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    url = store.storage.presign_get(key, settings.presign_ttl_s)
    with _guard:
        if len(_presigned) >= 50_000:
            _presigned.clear()
        _presigned[key] = (time.monotonic() + settings.presign_ttl_s / 2, url)
    return url


def _caption_segments(store: AssetStore, asset_id: str, version: int, language: str) -> int:
    """How many WebVTT segments the asset's track of ``language`` has in ``version`` (0: none
    ready). The track's status speaks for the current version; an earlier one (a channel
    still plays it after a replacement) has what it published."""
    key = (asset_id, version, language)
    hit = _captions.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    count = 0
    try:
        asset = store.get(asset_id)
        track = asset.caption(language)
        current = version == asset.version
        if not current or (track is not None and track.status == CaptionStatus.READY):
            text = store.storage.get_bytes(keys.media_playlist(
                asset_id, keys.subtitle_rendition(language), version)).decode()
            count = len(parse_media_segments(text))
    except NotFound:
        count = 0
    _captions[key] = (time.monotonic() + _CAPTIONS_TTL_S, count)
    return count
