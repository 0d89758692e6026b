"""Publishing: media playlists as segments reach the bucket, the multivariant playlist once
every rendition can play, and at the end the checked renditions with their measured rates.

While the transcode runs, each rendition's media playlist is an EVENT playlist listing the
segments already in the bucket (`GrowingPlaylists`); the multivariant playlist appears when
every rendition has its first segment, with the planned (declared) bandwidths, so the asset
plays before it is ready. When the transcode ends the media playlists become VOD with ENDLIST,
and publishing rewrites the multivariant playlist with the bandwidths measured on the segments.
A media playlist never loses a segment it listed: a re-run (worker lost) only replaces it once
it lists more.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import FfmpegFailed, InvalidMedia, NotFound
from ingest.hls.playlists import (
    M3U8_TYPE,
    Segment,
    SubtitleTrack,
    multivariant,
    parse_media_segments,
    peak_and_average_bandwidth,
    video_media_playlist,
)
from ingest.hls.webvtt_segments import MPEGTS_CLOCK_HZ
from ingest.media import commands, ffmpeg
from ingest.media.ladder import Rendition
from ingest.storage import keys
from ingest.storage.s3 import Storage

MIN_COVERAGE = 0.9
"""Renditions must cover this share of the probed duration, else the source was truncated."""


@dataclass(frozen=True)
class Published:
    renditions: list[Rendition]
    """As planned, with the bit rates measured on their segments."""
    duration_s: float


def store_media_playlists(storage: Storage, asset_id: str, playlists: Mapping[str, Path],
                          segment_s: int, version: int = 0) -> None:
    """The complete media playlists (VOD, ENDLIST) from the ones ffmpeg wrote (rendition name
    -> file), once their segments are up."""
    for name, path in playlists.items():
        segments = [(s.uri, s.duration) for s in parse_media_segments(path.read_text())]
        if not segments:
            raise InvalidMedia(f"Rendition {name} has no segments.", code="transcode_incomplete")
        text = video_media_playlist(segments, target_s=segment_s, complete=True).dumps()
        storage.put_bytes(keys.media_playlist(asset_id, name, version), text.encode(),
                          M3U8_TYPE)


class GrowingPlaylists:
    """The media playlists of a transcode in progress, in the bucket: EVENT playlists of the
    segments ffmpeg's own playlists (rendition -> file on disk, rewritten as it encodes) list
    and the uploader has put in the bucket."""

    def __init__(self, storage: Storage, asset_id: str, on_disk: Mapping[str, Path],
                 segment_s: int, version: int = 0) -> None:
        self._storage = storage
        self._asset_id = asset_id
        self._version = version
        self._on_disk = on_disk
        self._segment_s = segment_s
        # what an earlier run listed already: never shrink a playlist a player may hold
        self._listed = {name: self._stored_count(name) for name in on_disk}

    def _stored_count(self, rendition: str) -> int:
        try:
            text = self._storage.get_bytes(
                keys.media_playlist(self._asset_id, rendition, self._version))
        except NotFound:
            return 0
        return len(parse_media_segments(text.decode()))

    def update(self, uploaded: Mapping[str, frozenset[str]]) -> bool:
        """Store the playlists that have new segments in the bucket (rendition -> names of its
        uploaded segment files); True once every rendition lists at least one."""
        for name, path in self._on_disk.items():
            segments = self._in_bucket(path, uploaded.get(name, frozenset()))
            if len(segments) > self._listed[name]:
                text = video_media_playlist([(s.uri, s.duration) for s in segments],
                                            target_s=self._segment_s, complete=False).dumps()
                self._storage.put_bytes(keys.media_playlist(self._asset_id, name, self._version),
                                        text.encode(), M3U8_TYPE)
                self._listed[name] = len(segments)
        return all(count > 0 for count in self._listed.values())

    @staticmethod
    def _in_bucket(playlist: Path, uploaded: frozenset[str]) -> list[Segment]:
        """ffmpeg's segments up to the first one not uploaded yet."""
        try:
            listed = parse_media_segments(playlist.read_text())
        except FileNotFoundError:  # no segment finished yet
            return []
        done = []
        for segment in listed:
            if segment.uri not in uploaded:
                break
            done.append(segment)
        return done


def write_master(storage: Storage, asset_id: str, renditions: Sequence[Rendition],
                 subtitles: Sequence[SubtitleTrack] = (), version: int = 0) -> None:
    text = multivariant(renditions, subtitles).dumps()
    storage.put_bytes(keys.master_playlist(asset_id, version), text.encode(), M3U8_TYPE)


def verify_renditions(
    storage: Storage, asset_id: str, plans: Sequence[Rendition], probed_duration_s: float,
    version: int = 0,
) -> Published:
    """Check every rendition's segments are in storage and measure its bit rates."""
    renditions, durations = [], []
    for plan in plans:
        try:
            text = storage.get_bytes(keys.media_playlist(asset_id, plan.name, version)).decode()
        except NotFound as exc:
            raise InvalidMedia(f"Rendition {plan.name} was not produced.",
                               code="transcode_incomplete") from exc
        segments = parse_media_segments(text)
        prefix = keys.hls_object(asset_id, plan.name, version) + "/"
        sizes = storage.object_sizes(prefix)
        missing = [s.uri for s in segments if s.uri not in sizes]
        if not segments or missing:
            raise InvalidMedia(f"Rendition {plan.name} is missing segments: {missing[:3]}",
                               code="transcode_incomplete")
        peak, avg = peak_and_average_bandwidth(
            [sizes[s.uri] for s in segments], [s.duration for s in segments])
        durations.append(sum(s.duration for s in segments))
        renditions.append(plan.measured(peak, avg))
    duration = min(durations)
    if probed_duration_s > 0 and duration < probed_duration_s * MIN_COVERAGE:
        raise InvalidMedia(
            f"Only {duration:.1f} s of the announced {probed_duration_s:.1f} s could be decoded; "
            "the file looks truncated or corrupt.", code="truncated_media")
    return Published(renditions=renditions, duration_s=round(duration, 3))


def measure_start_pts(storage: Storage, asset_id: str, rendition: str, *, timeout_s: float,
                      nice: int = 0, version: int = 0) -> int:
    """The 90 kHz PTS of the first video frame, ffprobed on a local copy of the first segment.

    Subtitle segments name it in X-TIMESTAMP-MAP, so their cues line up with the video.
    """
    text = storage.get_bytes(keys.media_playlist(asset_id, rendition, version)).decode()
    segments = parse_media_segments(text)
    if not segments:
        raise InvalidMedia(f"Rendition {rendition} has no segments.", code="transcode_incomplete")
    with tempfile.TemporaryDirectory(prefix="podium-pts-") as tmp:
        local = Path(tmp) / "first.ts"
        storage.download_file(
            keys.hls_object(asset_id, f"{rendition}/{segments[0].uri}", version), local)
        try:
            result = ffmpeg.run(commands.start_pts_command(local), timeout_s=timeout_s,
                                nice=nice, capture_stdout=True)
        except FfmpegFailed as exc:
            raise InvalidMedia(f"The first segment of {rendition} could not be read.",
                               code="transcode_incomplete") from exc
    return parse_start_pts(result.stdout)


POSTER_AT = 1 / 3
"""Where the poster frame is taken, as a share of the duration: past any fade-in or title."""
POSTER_MAX_S = 20.0


def poster_position(durations: Sequence[float]) -> tuple[int, float]:
    """(segment index, offset in it) of the poster frame, given the segments' durations."""
    total = sum(durations)
    at = min(total * POSTER_AT, POSTER_MAX_S)
    start = 0.0
    for index, duration in enumerate(durations):
        if at < start + duration or index == len(durations) - 1:
            return index, max(0.0, min(at - start, duration - 0.05))
        start += duration
    raise ValueError("no segments")


def make_poster(storage: Storage, asset_id: str, rendition: str, *, timeout_s: float,
                nice: int = 0, version: int = 0) -> None:
    """Take the poster frame from one packaged segment of ``rendition`` and store it as
    `assets/{id}/poster.jpg`: one segment fetched, one short decode."""
    text = storage.get_bytes(keys.media_playlist(asset_id, rendition, version)).decode()
    segments = parse_media_segments(text)
    if not segments:
        raise InvalidMedia(f"Rendition {rendition} has no segments.", code="transcode_incomplete")
    index, offset = poster_position([s.duration for s in segments])
    with tempfile.TemporaryDirectory(prefix="podium-poster-") as tmp:
        local, jpeg = Path(tmp) / "segment.ts", Path(tmp) / "poster.jpg"
        storage.download_file(
            keys.hls_object(asset_id, f"{rendition}/{segments[index].uri}", version), local)
        command = commands.poster_command(local, jpeg, offset)
        ffmpeg.run(command, timeout_s=timeout_s, nice=nice)
        if not jpeg.is_file():  # ffmpeg exits 0 when the time is past the last frame
            raise FfmpegFailed("ffmpeg wrote no poster frame", command=command,
                               stderr_tail="", returncode=0)
        storage.put_file(keys.poster(asset_id), jpeg, "image/jpeg")


def parse_start_pts(ffprobe_json: bytes) -> int:
    """90 kHz PTS from ``start_pts_command``'s output (start_pts in its time base, else
    start_time in seconds)."""
    streams = json.loads(ffprobe_json or b"{}").get("streams") or []
    if not streams:
        raise InvalidMedia("The first segment has no video stream.", code="transcode_incomplete")
    stream = streams[0]
    num, _, den = str(stream.get("time_base", "")).partition("/")
    if isinstance(stream.get("start_pts"), int) and num.isdigit() and den.isdigit():
        return round(stream["start_pts"] * MPEGTS_CLOCK_HZ * int(num) / int(den))
    try:
        return round(float(stream["start_time"]) * MPEGTS_CLOCK_HZ)
    except (KeyError, ValueError) as exc:
        raise InvalidMedia("The first segment has no video timestamps.",
                           code="transcode_incomplete") from exc

