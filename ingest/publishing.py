"""Publishing: check what transcoding left in the bucket and write the multivariant playlist last.

A viewer can only find an asset through its multivariant playlist, so writing it last means
nobody ever sees a half-published asset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ingest import keys
from ingest.errors import InvalidMedia, NotFound
from ingest.ladder import RenditionPlan
from ingest.models import Rendition
from ingest.playlists import (
    MultivariantPlaylist,
    SubtitleTrack,
    Variant,
    parse_media_segments,
    peak_and_average_bandwidth,
)
from ingest.storage import Storage

M3U8_TYPE = "application/vnd.apple.mpegurl"
MIN_COVERAGE = 0.9
"""Renditions must cover this share of the probed duration, else the source was truncated."""


@dataclass(frozen=True)
class Published:
    renditions: list[Rendition]
    duration_s: float


def publish(
    storage: Storage, asset_id: str, plans: Sequence[RenditionPlan], probed_duration_s: float,
    subtitles: Sequence[SubtitleTrack] = (),
) -> Published:
    """Verify every rendition in storage, measure its bit rates, then write master.m3u8."""
    variants, renditions, durations = [], [], []
    for plan in plans:
        try:
            text = storage.get_bytes(keys.media_playlist(asset_id, plan.name)).decode()
        except NotFound as exc:
            raise InvalidMedia(f"Rendition {plan.name} was not produced.",
                               code="transcode_incomplete") from exc
        segments = parse_media_segments(text)
        prefix = keys.hls_object(asset_id, plan.name) + "/"
        sizes = storage.object_sizes(prefix)
        missing = [s.uri for s in segments if s.uri not in sizes]
        if not segments or missing:
            raise InvalidMedia(f"Rendition {plan.name} is missing segments: {missing[:3]}",
                               code="transcode_incomplete")
        peak, avg = peak_and_average_bandwidth(
            [sizes[s.uri] for s in segments], [s.duration for s in segments])
        durations.append(sum(s.duration for s in segments))
        variants.append(Variant(uri=f"{plan.name}/index.m3u8", bandwidth=peak,
                                average_bandwidth=avg, width=plan.width, height=plan.height,
                                fps=plan.fps, codecs=plan.codecs))
        renditions.append(Rendition(name=plan.name, width=plan.width, height=plan.height,
                                    bandwidth=peak, codecs=plan.codecs))
    duration = min(durations)
    if probed_duration_s > 0 and duration < probed_duration_s * MIN_COVERAGE:
        raise InvalidMedia(
            f"Only {duration:.1f} s of the announced {probed_duration_s:.1f} s could be decoded; "
            "the file looks truncated or corrupt.", code="truncated_media")
    master = MultivariantPlaylist(variants=variants, subtitles=list(subtitles))
    storage.put_bytes(keys.master_playlist(asset_id), master.dumps().encode(), M3U8_TYPE)
    return Published(renditions=renditions, duration_s=round(duration, 3))

