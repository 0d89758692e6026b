"""One ffmpeg run of a live stream (the speaker over RTMP, or the slate), shipped as it goes.

ffmpeg writes each rendition's segments (`seg-NNNNNN.ts`, renamed once whole) and a short
sliding playlist with their durations and EXT-X-PROGRAM-DATE-TIME. A watcher thread reads
those playlists a few times a second; once every rendition has segment N it uploads them,
appends N to the stream's ``LiveHls`` and writes the playlists and state to the bucket, so a
viewer never sees a segment that is not there in every rendition.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import m3u8

from ingest.errors import InvalidMedia, LimitExceeded, PodiumError
from ingest.hls.publishing import parse_start_pts
from ingest.live.hls import (
    LiveHls,
    LiveSegment,
    media_playlist,
    multivariant,
    segment_name,
    subtitle_playlist,
    subtitle_segment_name,
)
from ingest.media import commands, ffmpeg
from ingest.media.probe import Limits, MediaInfo, parse_probe
from ingest.media.sweeping import Sweeper
from ingest.storage import keys
from ingest.storage.s3 import Storage

log = logging.getLogger(__name__)
POLL_S = 0.2
TS_TYPE = "video/mp2t"
M3U8_TYPE = "application/vnd.apple.mpegurl"
BUCKET_WINDOW = 15


def validate_live(info: MediaInfo, limits: Limits) -> None:
    """What a live source must be: a video stream of an accepted codec and size."""
    if not info.has_video or not info.width or not info.height:
        raise InvalidMedia("The live stream carries no readable video.", code="no_video_stream")
    if info.video_codec not in limits.allowed_video_codecs:
        raise InvalidMedia(f"Video codec '{info.video_codec}' is not accepted.",
                           code="unsupported_codec")
    if info.has_audio and info.audio_codec not in limits.allowed_audio_codecs:
        raise InvalidMedia(f"Audio codec '{info.audio_codec}' is not accepted.",
                           code="unsupported_codec")
    if info.width > limits.max_width or info.height > limits.max_height:
        raise LimitExceeded(f"Resolution {info.width}x{info.height} is above the limit.",
                            code="resolution_too_high")
    if info.fps is not None and info.fps > limits.max_fps:
        raise LimitExceeded(f"Frame rate {info.fps:.1f} is above the limit.",
                            code="frame_rate_too_high")


def parse_live_probe(raw: bytes) -> MediaInfo:
    return parse_probe(raw, "flv")


def store_playlists(storage: Storage, stream_id: str, hls: LiveHls) -> None:
    """The state, then each rendition's playlist (relative URIs) and the multivariant."""
    storage.put_bytes(keys.live_state(stream_id), hls.model_dump_json().encode(),
                      "application/json")
    for r in hls.renditions:
        text = media_playlist(hls, BUCKET_WINDOW, lambda s: segment_name(s.seq))
        storage.put_bytes(keys.live_hls_object(stream_id, f"{r.name}/index.m3u8"),
                          text.encode(), M3U8_TYPE)
    if hls.captions is not None:
        text = subtitle_playlist(hls, BUCKET_WINDOW, lambda s: subtitle_segment_name(s.seq))
        storage.put_bytes(keys.live_hls_object(stream_id, f"{hls.captions.rendition}/index.m3u8"),
                          text.encode(), M3U8_TYPE)
    master = multivariant(hls, lambda r: f"{r.name}/index.m3u8",
                          lambda c: f"{c.rendition}/index.m3u8")
    storage.put_bytes(keys.live_hls_object(stream_id, "master.m3u8"), master.encode(), M3U8_TYPE)


@dataclass(frozen=True)
class RunOptions:
    timeout_s: float
    nice: int
    measure_start: bool = False
    """Measure the first video PTS of the run's first segment (what live captions map to)."""


class SegmentShipper(Sweeper):
    """Ships the run's complete segments, every rendition of one before the playlist names it."""

    def __init__(self, storage: Storage, stream_id: str, hls: LiveHls, out_dir: Path,
                 on_segment: Callable[[LiveSegment], None], lock: threading.Lock,
                 opts: RunOptions) -> None:
        super().__init__(f"live-{stream_id}", POLL_S)
        self.storage = storage
        self.stream_id = stream_id
        self.hls = hls
        self.out = out_dir
        self.on_segment = on_segment
        self.lock = lock
        self.opts = opts

    def _listed(self, name: str) -> dict[int, tuple[float, datetime | None]]:
        path = self.out / name / "index.m3u8"
        try:
            text = path.read_text()
        except FileNotFoundError:
            return {}
        found = {}
        for s in m3u8.loads(text).segments:
            if s.uri and s.uri.startswith("seg-") and s.duration is not None:
                found[int(s.uri[4:10])] = (float(s.duration), s.program_date_time)
        return found

    def sweep(self) -> int:
        listed = [self._listed(r.name) for r in self.hls.renditions]
        common = sorted(set.intersection(*(set(x) for x in listed))) if listed else []
        shipped = 0
        for seq in common:
            if seq < self.hls.next_seq:
                continue
            start_pts = self._start_pts(seq)
            for r in self.hls.renditions:
                path = self.out / r.name / segment_name(seq)
                key = keys.live_hls_object(self.stream_id, f"{r.name}/{segment_name(seq)}")
                self.storage.put_file(key, path, TS_TYPE)
                path.unlink(missing_ok=True)
            duration, stamp = listed[0][seq]
            with self.lock:
                segment = self.hls.add(seq, duration, stamp, start_pts)
                store_playlists(self.storage, self.stream_id, self.hls)
            self.on_segment(segment)
            shipped += 1
        return shipped

    def _start_pts(self, seq: int) -> int | None:
        """The first video PTS of the run's first segment, when asked for (one ffprobe a run;
        a failure only costs the captions their exact alignment)."""
        if not self.opts.measure_start or self.hls.runs[-1].last_seq is not None:
            return None
        smallest = min(self.hls.renditions, key=lambda r: r.height)
        command = commands.start_pts_command(self.out / smallest.name / segment_name(seq))
        try:
            result = ffmpeg.run(command, timeout_s=10, nice=self.opts.nice, capture_stdout=True)
            return parse_start_pts(result.stdout)
        except (PodiumError, ValueError) as exc:
            log.warning("live stream %s: no start time for segment %d: %s", self.stream_id,
                        seq, exc)
            return None



def run_to_storage(storage: Storage, stream_id: str, hls: LiveHls, args: list[str],
                   out_dir: Path, stop: threading.Event, opts: RunOptions,
                   on_segment: Callable[[LiveSegment], None],
                   lock: threading.Lock) -> ffmpeg.RunResult:
    """Run one live ffmpeg (built for ``out_dir``) until its input ends or ``stop`` is set;
    every whole segment ends up in the bucket and in ``hls`` (changed under ``lock``)."""
    shutil.rmtree(out_dir, ignore_errors=True)
    for r in hls.renditions:
        (out_dir / r.name).mkdir(parents=True, exist_ok=True)
    shipper = SegmentShipper(storage, stream_id, hls, out_dir, on_segment, lock, opts)
    shipper.start()
    try:
        return ffmpeg.run(args, timeout_s=opts.timeout_s, nice=opts.nice, cwd=out_dir,
                          on_progress=lambda _: None, stop=stop)
    finally:
        shipper.finish()
