"""Transcode a source into the HLS ladder and push it to storage while ffmpeg is still writing.

ffmpeg writes each segment as `*.tmp` and renames it when complete (hls_flags temp_file), so a
`.ts` file on disk is always whole: an uploader thread ships those as they appear, and after
each sweep tells ``on_segments`` which segment files of each rendition are in the bucket, so
ingest.hls can publish ffmpeg's growing EVENT playlists (`playlist_paths`) while encoding.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.media import commands, ffmpeg
from ingest.media.encoders import LIBX264, Encoder
from ingest.media.ladder import Rendition
from ingest.media.sweeping import Sweeper
from ingest.storage import keys
from ingest.storage.s3 import Storage

log = logging.getLogger(__name__)

TS_TYPE = "video/mp2t"
POLL_S = 0.5
SegmentsCallback = Callable[[Mapping[str, frozenset[str]]], None]
"""Told, after a sweep that uploaded something, each rendition's segment files in the bucket."""
PLAYLIST_NAME = "index.m3u8"


@dataclass(frozen=True)
class TranscodeOptions:
    video_stream: int
    """Index of the probed video stream, the only one decoded (and audio_stream's, if any)."""
    audio_stream: int | None
    segment_s: int
    preset: str
    threads: int
    nice: int
    timeout_s: float
    silence_s: float | None = None
    """Without an audio stream: seconds of silence to package as the audio track."""
    encoder: Encoder = LIBX264
    """The H.264 encoder of every rendition (ingest.media.encoders.detect)."""


class SegmentUploader(Sweeper):
    """Uploads finished segments of every rendition directory, each exactly once (an upload
    that failed, storage away, ends the run at the next progress report: raise_if_failed)."""

    def __init__(self, storage: Storage, asset_id: str, out_dir: Path, version: int = 0,
                 on_segments: SegmentsCallback | None = None) -> None:
        super().__init__(f"upload-{asset_id}", POLL_S)
        self._storage = storage
        self._on_segments = on_segments
        self._asset_id = asset_id
        self._version = version
        self._out = out_dir
        self._done: set[Path] = set()

    def sweep(self) -> int:
        uploaded = 0
        for path in sorted(self._out.glob("*/seg-*.ts")):
            if path in self._done:
                continue
            key = keys.hls_object(self._asset_id, f"{path.parent.name}/{path.name}",
                                  self._version)
            self._storage.put_file(key, path, TS_TYPE)
            self._done.add(path)
            path.unlink()  # keep the worker's disk use to a few segments
            uploaded += 1
        if uploaded and self._on_segments is not None:
            by_rendition: dict[str, set[str]] = {}
            for path in self._done:
                by_rendition.setdefault(path.parent.name, set()).add(path.name)
            self._on_segments({k: frozenset(v) for k, v in by_rendition.items()})
        return uploaded



def transcode_to_storage(
    storage: Storage, asset_id: str, source: Path, demuxer: str, plans: Sequence[Rendition],
    work_dir: Path, opts: TranscodeOptions, on_progress: Callable[[float], None],
    version: int = 0,
    on_segments: SegmentsCallback | None = None,
) -> dict[str, Path]:
    """Run the one-pass ladder, leave every segment in the bucket, and return the media
    playlist ffmpeg wrote for each rendition (by name)."""
    out_dir = clean_output(work_dir, plans)
    args = commands.hls_ladder_command(
        source, demuxer, out_dir, plans, video_stream=opts.video_stream,
        audio_stream=opts.audio_stream, segment_s=opts.segment_s, preset=opts.preset,
        threads=opts.threads, silence_s=opts.silence_s,
        encoder=opts.encoder.name, device_args=opts.encoder.device_args,
        upload_filter=opts.encoder.upload_filter,
    )
    package_to_storage(storage, asset_id, args, work_dir, opts, on_progress, version,
                       on_segments)
    return playlist_paths(work_dir, plans)


def clean_output(work_dir: Path, plans: Sequence[Rendition]) -> Path:
    """The HLS output folder of a packaging run, emptied (a run killed midway leaves segments
    behind: none of them may be shipped), with one folder per rendition."""
    out_dir = work_dir / "hls"
    shutil.rmtree(out_dir, ignore_errors=True)
    for plan in plans:
        (out_dir / plan.name).mkdir(parents=True, exist_ok=True)
    return out_dir


def package_to_storage(
    storage: Storage, asset_id: str, args: Sequence[str], work_dir: Path,
    opts: TranscodeOptions, on_progress: Callable[[float], None], version: int = 0,
    on_segments: SegmentsCallback | None = None,
) -> None:
    """Run an ffmpeg that writes HLS into ``work_dir/hls`` while the uploader ships each
    finished segment (the one-pass ladder, or the stitch of a chunked transcode)."""
    uploader = SegmentUploader(storage, asset_id, work_dir / "hls", version, on_segments)

    def progress(done: float) -> None:
        uploader.raise_if_failed()
        on_progress(done)

    uploader.start()
    try:
        ffmpeg.run(args, timeout_s=opts.timeout_s, nice=opts.nice, cwd=work_dir,
                   on_progress=progress)
    finally:
        uploader.finish()


def playlist_paths(work_dir: Path, plans: Sequence[Rendition]) -> dict[str, Path]:
    """Where ffmpeg writes (and rewrites, while encoding) each rendition's media playlist."""
    return {plan.name: work_dir / "hls" / plan.name / PLAYLIST_NAME for plan in plans}
