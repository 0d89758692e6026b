"""Live HLS for a channel, written with the `m3u8` library (RFC 8216).

Each channel variant takes, for every item, that item's closest rendition (a discontinuity lets
the resolution change); its BANDWIDTH covers the largest of them. Media playlists are the
sliding window computed by ``ingest.channels.schedule``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import m3u8

from ingest.channels.models import Channel
from ingest.channels.schedule import PlayedSegment
from ingest.hls.playlists import SUBTITLES_GROUP, VERSION
from ingest.media.ladder import Rendition


class HasRenditions(Protocol):
    """An item's media or a live stream cut to: what a variant is made of."""

    @property
    def renditions(self) -> Sequence[Rendition]: ...


def variant_sources(channel: Channel) -> list[HasRenditions]:
    """What the stream's variants are made of: the items' media and every live stream the
    channel cut to (one taller than every item adds its height; a variant, once listed, stays,
    for players that hold the multivariant playlist)."""
    return [*channel.item_media(), *channel.live_sources.values()]


def pick_rendition(media: HasRenditions, height: int) -> Rendition:
    """The asset's rendition closest to ``height`` (the smaller one on a tie)."""
    return min(media.renditions, key=lambda r: (abs(r.height - height), r.height))


def _level(codecs: str) -> int:
    video = codecs.split(",")[0]
    try:
        return int(video.split(".")[1][-2:], 16)
    except (IndexError, ValueError):
        return 0


def channel_variants(media: Iterable[HasRenditions]) -> list[Rendition]:
    """One variant per rendition height found in the items' media, tallest first: the largest
    chosen rendition with the variant's name, height, peak BANDWIDTH and CODECS."""
    assets = [m for m in media if m.renditions]
    heights = sorted({r.height for m in assets for r in m.renditions}, reverse=True)
    variants = []
    for height in heights:
        chosen = [pick_rendition(m, height) for m in assets]
        biggest = max(chosen, key=lambda r: (r.width * r.height, r.bandwidth))
        video = max((r.codecs.split(",")[0] for r in chosen), key=_level)
        audio = any("mp4a" in r.codecs for r in chosen)
        variants.append(biggest.model_copy(update={
            "name": next(r.name for m in assets for r in m.renditions if r.height == height),
            "height": height, "bandwidth": max(r.bandwidth for r in chosen),
            "average_bandwidth": None, "codecs": f"{video},mp4a.40.2" if audio else video}))
    return variants


def multivariant(variants: Sequence[Rendition], languages: Sequence[str],
                 variant_uri: Callable[[Rendition], str],
                 subtitles_uri: Callable[[str], str]) -> str:
    playlist = m3u8.M3U8()
    playlist.version = VERSION
    playlist.is_independent_segments = True
    for n, language in enumerate(languages):
        playlist.add_media(m3u8.Media(
            uri=subtitles_uri(language), type="SUBTITLES", group_id=SUBTITLES_GROUP,
            language=language, name=language, default="YES" if n == 0 else "NO",
            autoselect="YES"))
    for v in variants:
        info: dict[str, object] = {"bandwidth": v.bandwidth, "resolution": f"{v.width}x{v.height}",
                                   "codecs": v.codecs}
        if languages:
            info["subtitles"] = SUBTITLES_GROUP
        playlist.add_playlist(m3u8.Playlist(uri=variant_uri(v), stream_info=info,
                                            media=list(playlist.media), base_uri=None))
    return str(playlist.dumps())


def media_playlist(window: Sequence[PlayedSegment], *, target_duration: int, next_seq: int,
                   next_disc: int, uri: Callable[[PlayedSegment], str],
                   ended: bool = False) -> str:
    """The sliding window as a media playlist.

    The window's first segment carries no discontinuity tag: EXT-X-DISCONTINUITY-SEQUENCE
    already counts it, so a segment keeps its discontinuity number in every window that shows
    it (RFC 8216 6.2.2). ``next_seq``/``next_disc`` number an empty window.
    """
    playlist = m3u8.M3U8()
    playlist.version = VERSION
    playlist.target_duration = target_duration
    playlist.media_sequence = window[0].seq if window else next_seq
    playlist.discontinuity_sequence = window[0].disc if window else next_disc
    for n, segment in enumerate(window):
        stamp = datetime.fromtimestamp(segment.start, UTC) \
            if segment.starts_block or n == 0 else None
        playlist.add_segment(m3u8.Segment(
            uri=uri(segment), duration=round(segment.duration, 6),
            discontinuity=segment.discontinuity and n > 0, program_date_time=stamp))
    playlist.is_endlist = ended
    return str(playlist.dumps())
