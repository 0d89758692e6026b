"""A long source's video over many workers: cut into chunks at segment boundaries, each chunk
encoded on its own (every rendition, video only), the audio once in one piece, then stitched
into the HLS ladder by copying, nothing re-encoded.

Every piece is an object in the bucket (`keys.chunks_prefix`) named by the chunk's index, so
workers on other machines can make and read them, a chunk made twice is simply made again,
and a lost chunk is the only one redone. Timestamps are set when a piece is encoded
(commands.chunk_ladder_command): the stitch only joins and copies.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from ingest.errors import InvalidMedia, NotFound
from ingest.media import commands, ffmpeg
from ingest.media.chunk_plan import Chunk
from ingest.media.ladder import Rendition
from ingest.media.packaging import (
    TS_TYPE,
    SegmentsCallback,
    TranscodeOptions,
    clean_output,
    package_to_storage,
    playlist_paths,
)
from ingest.storage import keys
from ingest.storage.s3 import Storage


def encode_chunk(storage: Storage, asset_id: str, source: Path, demuxer: str,
                 plans: Sequence[Rendition], chunk: Chunk, work_dir: Path,
                 opts: TranscodeOptions, on_progress: Callable[[float], None],
                 version: int = 0) -> None:
    """Encode one chunk in every rendition and leave it in the bucket."""
    out = work_dir / f"video-{chunk.index:05d}.ts"
    args = commands.chunk_ladder_command(
        source, demuxer, out, plans, start_s=chunk.start_s,
        duration_s=None if chunk.last else chunk.duration_s,
        video_stream=opts.video_stream, segment_s=opts.segment_s, preset=opts.preset,
        threads=opts.threads, encoder=opts.encoder.name, device_args=opts.encoder.device_args,
        upload_filter=opts.encoder.upload_filter)
    try:
        ffmpeg.run(args, timeout_s=opts.timeout_s, nice=opts.nice, cwd=work_dir,
                   on_progress=on_progress)
        if not out.exists() or out.stat().st_size == 0:
            raise InvalidMedia(f"Chunk {chunk.index} holds no video.", code="transcode_failed")
        storage.put_file(keys.video_chunk(asset_id, chunk.index, version), out, TS_TYPE)
    finally:
        out.unlink(missing_ok=True)


def encode_audio(storage: Storage, asset_id: str, source: Path, demuxer: str, audio_kbps: int,
                 work_dir: Path, opts: TranscodeOptions, version: int = 0) -> None:
    """Encode the audio once, in one piece, and leave it in the bucket."""
    out = work_dir / "audio.ts"
    args = commands.audio_track_command(source, demuxer, out, audio_stream=opts.audio_stream,
                                        audio_kbps=audio_kbps, silence_s=opts.silence_s)
    try:
        ffmpeg.run(args, timeout_s=opts.timeout_s, nice=opts.nice, cwd=work_dir)
        storage.put_file(keys.audio_track(asset_id, version), out, TS_TYPE)
    finally:
        out.unlink(missing_ok=True)


def chunk_stored(storage: Storage, asset_id: str, index: int, version: int = 0) -> bool:
    return storage.exists(keys.video_chunk(asset_id, index, version))


def audio_stored(storage: Storage, asset_id: str, version: int = 0) -> bool:
    return storage.exists(keys.audio_track(asset_id, version))


def stitch_to_storage(
    storage: Storage, asset_id: str, chunks: int, plans: Sequence[Rendition], work_dir: Path,
    opts: TranscodeOptions, on_progress: Callable[[float], None], version: int = 0,
    on_segments: SegmentsCallback | None = None,
) -> dict[str, Path]:
    """Join the ``chunks`` video chunks and the audio into the HLS ladder (segments shipped
    as they are written, like the one-pass ladder's) and return each rendition's playlist."""
    pieces = work_dir / "pieces"
    shutil.rmtree(pieces, ignore_errors=True)
    pieces.mkdir(parents=True)
    video, audio = pieces / "video.ts", pieces / "audio.ts"
    try:
        _fetch(storage, keys.audio_track(asset_id, version), audio)
        with video.open("wb") as joined:  # MPEG-TS joins byte by byte
            for index in range(chunks):
                part = pieces / "part.ts"
                _fetch(storage, keys.video_chunk(asset_id, index, version), part)
                with part.open("rb") as src:
                    shutil.copyfileobj(src, joined, 1 << 20)
                part.unlink()
        out_dir = clean_output(work_dir, plans)
        args = commands.stitch_command(video, audio, out_dir, plans, segment_s=opts.segment_s)
        package_to_storage(storage, asset_id, args, work_dir, opts, on_progress, version,
                           on_segments)
    finally:
        shutil.rmtree(pieces, ignore_errors=True)
    return playlist_paths(work_dir, plans)


def _fetch(storage: Storage, key: str, target: Path) -> None:
    try:
        storage.download_file(key, target)
    except NotFound as exc:  # a chunk job said it was done: the bucket lost it
        raise InvalidMedia("A piece of the chunked transcode is missing.",
                           code="transcode_incomplete", detail=key) from exc
