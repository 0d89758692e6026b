"""A live stream's HLS: the segment list the worker keeps, and the playlists made from it.

The worker appends each segment once every rendition has it in the bucket; the state
(`live/{id}/hls/state.json`) is the one truth that the bucket's playlists and the API's
rewritten ones are both rendered from (``media_playlist``). Numbering never goes back: a new
ffmpeg run (the speaker returns, the slate starts, another worker takes over) continues the
media sequence, and its first segment starts a discontinuity (RFC 8216 4.3.2.3), so one
playlist carries the whole session with no 404 and no reset.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import m3u8
from pydantic import BaseModel, Field

from ingest.captions.publishing import track_name
from ingest.hls.playlists import SUBTITLES_GROUP
from ingest.media.ladder import Rendition

KEEP_SEGMENTS = 600
"""Segments kept in the state (the recording lists its sessions by sequence range instead)."""


class LiveSegment(BaseModel):
    seq: int
    duration: float
    start_pts: int | None = None
    """First video PTS (90 kHz) of a run's first segment, when live captions measured it: what
    the run's WebVTT segments name in X-TIMESTAMP-MAP."""
    disc: int
    """Discontinuities before this segment since the stream began (its discontinuity number)."""
    discontinuity: bool = False
    """The first segment of a run that follows another."""
    program_date_time: datetime | None = None
    slate: bool = False
    at: float | None = None
    """Seconds of the stream before this segment (every earlier segment's duration, summed):
    a channel cut to the stream places its segments by it (ingest.channels.live)."""


class LiveRun(BaseModel):
    """One ffmpeg run's segments: the speaker (``slate`` False) or the "be right back" card."""

    first_seq: int
    last_seq: int | None = None
    slate: bool = False


class LiveCaptions(BaseModel):
    """The live subtitle rendition: a WebVTT segment for every video segment from
    ``first_seq`` on, written in order; ``next_seq`` is the first one not written yet."""

    language: str
    first_seq: int
    next_seq: int

    @property
    def rendition(self) -> str:
        return f"subs-{self.language}"


class LiveHls(BaseModel):
    renditions: list[Rendition]
    segment_s: int
    segments: list[LiveSegment] = Field(default_factory=list)
    runs: list[LiveRun] = Field(default_factory=list)
    next_seq: int = 0
    disc: int = 0
    ended: bool = False
    captions: LiveCaptions | None = None
    elapsed: float = 0.0
    """Seconds of all the segments so far (the next one's ``at``)."""

    def start_run(self, slate: bool) -> int:
        """A new ffmpeg run begins: the sequence number its first segment must have."""
        self.runs.append(LiveRun(first_seq=self.next_seq, slate=slate))
        return self.next_seq

    def add(self, seq: int, duration: float, program_date_time: datetime | None,
            start_pts: int | None = None) -> LiveSegment:
        """Segment ``seq`` of the current run is in the bucket in every rendition."""
        run = self.runs[-1]
        first = run.last_seq is None
        follows_other = first and any(r.last_seq is not None for r in self.runs[:-1])
        if follows_other:
            self.disc += 1
        segment = LiveSegment(seq=seq, duration=duration, disc=self.disc,
                              discontinuity=follows_other, program_date_time=program_date_time,
                              slate=run.slate, start_pts=start_pts,
                              at=round(self.elapsed, 6))
        self.elapsed += duration
        run.last_seq = seq
        self.segments = [*self.segments, segment][-KEEP_SEGMENTS:]
        self.next_seq = seq + 1
        return segment

    def rendition(self, name: str) -> Rendition | None:
        return next((r for r in self.renditions if r.name == name), None)

    def speaker_runs(self) -> list[tuple[int, int]]:
        """Sequence ranges (first, last) of the speaker's runs: what the recording holds."""
        return [(r.first_seq, r.last_seq) for r in self.runs
                if not r.slate and r.last_seq is not None]


def segment_name(seq: int) -> str:
    return f"seg-{seq:06d}.ts"


def subtitle_segment_name(seq: int) -> str:
    return f"seg-{seq:06d}.vtt"


def media_playlist(hls: LiveHls, window: int, uri: Callable[[LiveSegment], str]) -> str:
    """The last ``window`` segments as a live media playlist (EXT-X-ENDLIST once ended).

    The window's first segment carries no discontinuity tag: EXT-X-DISCONTINUITY-SEQUENCE
    counts it already, so each segment keeps its number in every window (RFC 8216 6.2.2)."""
    return _window(hls, hls.segments, window, uri, hls.ended)


def subtitle_playlist(hls: LiveHls, window: int, uri: Callable[[LiveSegment], str]) -> str:
    """The live subtitle rendition: the video's segments (same numbers, durations and
    discontinuities) that have their WebVTT segment, so it runs behind the video by the time
    recognition takes; EXT-X-ENDLIST once the stream ended and every segment is written."""
    captions = hls.captions
    if captions is None:
        raise ValueError("the stream has no live captions")
    written = [s for s in hls.segments if captions.first_seq <= s.seq < captions.next_seq]
    return _window(hls, written, window, uri, hls.ended and captions.next_seq >= hls.next_seq)


def _window(hls: LiveHls, segments: Sequence[LiveSegment], window: int,
            uri: Callable[[LiveSegment], str], ended: bool) -> str:
    shown: Sequence[LiveSegment] = segments[-window:]
    playlist = m3u8.M3U8()
    playlist.version = 3
    playlist.target_duration = max([hls.segment_s, *(int(s.duration + 0.5) for s in shown)])
    playlist.media_sequence = shown[0].seq if shown else hls.next_seq
    playlist.discontinuity_sequence = shown[0].disc if shown else hls.disc
    for n, segment in enumerate(shown):
        playlist.add_segment(m3u8.Segment(
            uri=uri(segment), duration=round(segment.duration, 6),
            discontinuity=segment.discontinuity and n > 0,
            program_date_time=segment.program_date_time))
    playlist.is_endlist = ended
    return str(playlist.dumps())


def multivariant(hls: LiveHls, uri: Callable[[Rendition], str],
                 subtitles_uri: Callable[[LiveCaptions], str] | None = None) -> str:
    """One variant per rung; with live captions (and ``subtitles_uri``) their SUBTITLES
    rendition, named by every variant."""
    playlist = m3u8.M3U8()
    playlist.version = 3
    playlist.is_independent_segments = True
    captions = hls.captions if subtitles_uri is not None else None
    if captions is not None and subtitles_uri is not None:
        playlist.add_media(m3u8.Media(
            uri=subtitles_uri(captions), type="SUBTITLES", group_id=SUBTITLES_GROUP,
            language=captions.language, name=track_name(captions.language),
            default="YES", autoselect="YES"))
    for r in hls.renditions:
        info: dict[str, object] = {
            "bandwidth": r.bandwidth, "resolution": f"{r.width}x{r.height}",
            "codecs": r.codecs, "frame_rate": r.fps}
        if captions is not None:
            info["subtitles"] = SUBTITLES_GROUP
        playlist.add_playlist(m3u8.Playlist(uri=uri(r), base_uri=None,
                                            media=list(playlist.media), stream_info=info))
    return str(playlist.dumps())
