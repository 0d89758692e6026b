"""Segmented WebVTT for HLS subtitle renditions (RFC 8216 section 3.5).

Every segment carries ``X-TIMESTAMP-MAP=MPEGTS:<first video PTS>,LOCAL:00:00:00.000`` so cue
times, written on the media timeline (0 = first video frame), line up with the video segments:
Safari maps cue time t to PTS ``MPEGTS + t * 90000``, and hls.js offsets cues by
``(MPEGTS - initPTS) / 90000``, which is 0 when MPEGTS is the video's first PTS.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.captions.files import Cue, to_webvtt
from ingest.hls.playlists import vod_media_playlist

MPEGTS_CLOCK_HZ = 90_000
_PTS_MODULO = 2**33  # MPEG-2 PES timestamps are 33-bit
SEGMENT_NAME = "seg-{index:05d}.vtt"


@dataclass(frozen=True)
class SubtitleRendition:
    """A subtitle media playlist and its segments as (file name, WebVTT text) pairs."""

    playlist: str
    segments: list[tuple[str, str]]


def segment_name(index: int) -> str:
    """File name of segment ``index``, relative to the media playlist."""
    return SEGMENT_NAME.format(index=index)


def segment_webvtt(
    cues: Sequence[Cue], total_duration: float, segment_duration: float, mpegts_offset: int
) -> SubtitleRendition:
    """Cut a track into WebVTT segments covering ``total_duration`` and build their playlist.

    A cue overlapping several segments is repeated in each with its full times, as RFC 8216
    and Apple's authoring spec require; players drop the duplicates. Segments without cues
    are still written so the subtitle timeline covers the whole video.
    ``mpegts_offset`` is the 90 kHz PTS of the first video frame.
    """
    _check_arguments(total_duration, segment_duration, mpegts_offset)
    header = (f"X-TIMESTAMP-MAP=MPEGTS:{mpegts_offset},LOCAL:00:00:00.000",)
    bounds = segment_bounds(total_duration, segment_duration)
    buckets = _cues_per_segment(cues, bounds)
    segments = [
        (segment_name(index), to_webvtt(bucket, header=header))
        for index, bucket in enumerate(buckets)
    ]
    durations = [end - start for start, end in bounds]
    return SubtitleRendition(_media_playlist(segments, durations), segments)


def _check_arguments(total_duration: float, segment_duration: float, mpegts_offset: int) -> None:
    if not (math.isfinite(total_duration) and total_duration > 0):
        raise ValueError(f"total_duration must be positive, got {total_duration}")
    if not (math.isfinite(segment_duration) and segment_duration > 0):
        raise ValueError(f"segment_duration must be positive, got {segment_duration}")
    if not 0 <= mpegts_offset < _PTS_MODULO:
        raise ValueError(f"mpegts_offset must be a 33-bit PTS, got {mpegts_offset}")


def segment_bounds(total_duration: float, segment_duration: float) -> list[tuple[float, float]]:
    """(start, end) of each segment; the last one is shorter when the duration does not divide.

    Bounds are rounded to the millisecond so float noise never adds a sliver of a segment.
    """
    count = max(1, math.ceil(round(total_duration / segment_duration, 6)))
    return [
        (round(i * segment_duration, 3), round(min((i + 1) * segment_duration, total_duration), 3))
        for i in range(count)
    ]


def _cues_per_segment(
    cues: Sequence[Cue], bounds: Sequence[tuple[float, float]]
) -> list[list[Cue]]:
    """Put each cue in every segment whose [start, end) it overlaps, keeping time order."""
    starts = [start for start, _end in bounds]
    media_end = bounds[-1][1]
    buckets: list[list[Cue]] = [[] for _ in bounds]
    for cue in sorted(cues, key=lambda c: (c.start, c.end)):
        if cue.start >= media_end or cue.end <= 0:
            continue  # never on screen
        first = max(0, bisect.bisect_right(starts, cue.start) - 1)
        last = bisect.bisect_left(starts, cue.end) - 1
        for index in range(first, last + 1):
            buckets[index].append(cue)
    return buckets


def _media_playlist(segments: Sequence[tuple[str, str]], durations: Sequence[float]) -> str:
    names = [name for name, _text in segments]
    return vod_media_playlist(list(zip(names, durations, strict=True))).dumps()
