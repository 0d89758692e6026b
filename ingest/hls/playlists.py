"""HLS playlists (RFC 8216) as `m3u8` objects that serialise with ``dumps()``.

Podium writes three kinds: an asset's multivariant playlist (its renditions and SUBTITLES
media), VOD media playlists (subtitle renditions), and, for playback, any playlist with its URIs
rewritten. It reads the media playlists ffmpeg writes. The functions return `m3u8.M3U8`
objects rather than text so callers (channels: media sequence, discontinuities, program date
time) can keep building on them before ``dumps()``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import m3u8

from ingest.media.ladder import Rendition

M3U8_TYPE = "application/vnd.apple.mpegurl"
"""Content type of every playlist, in the bucket and over HTTP (RFC 8216 section 4)."""
VERSION = 3
SUBTITLES_GROUP = "subs"
MEDIA_PLAYLIST = "index.m3u8"


@dataclass(frozen=True)
class SubtitleTrack:
    """One EXT-X-MEDIA TYPE=SUBTITLES entry of a multivariant playlist."""

    uri: str
    language: str
    name: str
    default: bool = False


def media_playlist_uri(rendition: str) -> str:
    """URI of a rendition's media playlist, relative to the multivariant playlist."""
    return f"{rendition}/{MEDIA_PLAYLIST}"


def multivariant(renditions: Sequence[Rendition],
                 subtitles: Sequence[SubtitleTrack] = ()) -> m3u8.M3U8:
    """The multivariant playlist of an asset: variants by falling bandwidth, subtitle tracks
    in one group that every variant names."""
    playlist = m3u8.M3U8()
    playlist.version = VERSION
    playlist.is_independent_segments = True
    for track in subtitles:
        playlist.add_media(m3u8.Media(
            uri=_q(track.uri), type="SUBTITLES", group_id=SUBTITLES_GROUP,
            language=_q(track.language), name=_q(track.name),
            default="YES" if track.default else "NO", autoselect="YES"))
    for rendition in sorted(renditions, key=lambda r: r.bandwidth, reverse=True):
        stream_info = {
            "bandwidth": rendition.bandwidth,
            "average_bandwidth": rendition.average_bandwidth,
            "resolution": f"{rendition.width}x{rendition.height}",
            "frame_rate": rendition.fps,
            "codecs": rendition.codecs,
            "subtitles": SUBTITLES_GROUP if subtitles else None,
        }
        playlist.add_playlist(m3u8.Playlist(uri=media_playlist_uri(rendition.name),
                                            stream_info=stream_info, media=playlist.media,
                                            base_uri=None))
    return playlist


def vod_media_playlist(segments: Sequence[tuple[str, float]]) -> m3u8.M3U8:
    """A complete (VOD, ENDLIST) media playlist of (URI, duration) segments."""
    if not segments:
        raise ValueError("a media playlist needs at least one segment")
    playlist = m3u8.M3U8()
    playlist.version = VERSION
    # RFC 8216 4.3.3.1: each EXTINF rounded to the nearest integer must not exceed the
    # target duration; hls.js also treats anything below 1 as 1.
    playlist.target_duration = max(1, max(math.floor(d + 0.5) for _uri, d in segments))
    playlist.media_sequence = 0
    playlist.playlist_type = "vod"
    for uri, duration in segments:
        playlist.add_segment(m3u8.Segment(uri=uri, duration=round(duration, 3), title=""))
    playlist.is_endlist = True
    return playlist


def video_media_playlist(segments: Sequence[tuple[str, float]], *, target_s: int,
                         complete: bool) -> m3u8.M3U8:
    """A rendition's media playlist: EVENT while the transcode still appends segments (players
    reload it and start from the beginning, EXT-X-START TIME-OFFSET=0), VOD with ENDLIST once
    it is complete. The target duration is the same in both (it may not change, RFC 8216
    6.2.1): the segment length, or more when a segment came out longer."""
    if not segments:
        raise ValueError("a media playlist needs at least one segment")
    playlist = m3u8.M3U8()
    playlist.version = VERSION
    playlist.target_duration = max(target_s, *(math.floor(d + 0.5) for _uri, d in segments))
    playlist.media_sequence = 0
    playlist.playlist_type = "vod" if complete else "event"
    playlist.is_independent_segments = True
    if not complete:
        playlist.start = m3u8.Start(time_offset=0, precise="YES")
    for uri, duration in segments:
        playlist.add_segment(m3u8.Segment(uri=uri, duration=round(duration, 3), title=""))
    playlist.is_endlist = complete
    return playlist


def _q(value: str) -> str:
    """Quoted-string attribute values may not hold quotes or line breaks (RFC 8216 4.2);
    `m3u8` quotes values as they are."""
    return value.replace('"', "'").replace("\n", " ").replace("\r", " ")


@dataclass(frozen=True)
class Segment:
    uri: str
    duration: float


def parse_media_segments(text: str) -> list[Segment]:
    """The segments (EXTINF duration + URI) of a media playlist, in order."""
    return [Segment(s.uri, float(s.duration)) for s in m3u8.loads(text).segments
            if s.uri and s.duration is not None]


def rewrite_uris(text: str, resolve: Callable[[str], str]) -> m3u8.M3U8:
    """The playlist with every URI (variants, EXT-X-MEDIA, segments, EXT-X-MAP) replaced by
    ``resolve(uri)``."""
    playlist = m3u8.loads(text)
    for entry in [*playlist.playlists, *playlist.media, *playlist.segments]:
        if entry.uri:
            entry.uri = _q(resolve(entry.uri))
    sections = {id(s.init_section): s.init_section for s in playlist.segments if s.init_section}
    for section in sections.values():
        section.uri = _q(resolve(section.uri))
    return playlist


def peak_and_average_bandwidth(sizes: Sequence[int], durations: Sequence[float]) -> tuple[int, int]:
    """BANDWIDTH is the peak segment bit rate, AVERAGE-BANDWIDTH the mean (RFC 8216 4.3.4.2)."""
    if not sizes or len(sizes) != len(durations):
        raise ValueError("need one size per segment")
    rates = [s * 8 / d for s, d in zip(sizes, durations, strict=True) if d > 0.5]
    if not rates:  # only very short segments: use the total
        rates = [sum(sizes) * 8 / max(sum(durations), 0.001)]
    total = sum(sizes) * 8 / max(sum(durations), 0.001)
    return int(max(rates)), int(total)
