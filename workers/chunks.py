"""The jobs of a chunked transcode (workers/pipeline.py: chunked_transcode): one per video
chunk and one for the audio, on any worker, then the stitch that packages the HLS ladder.

Each piece is keyed by asset id (and chunk index) and lands at a deterministic key in the
bucket: a piece already there is not made again, so a chunk whose worker was lost is the only
one redone. Progress is the sum of what every chunk encoded, kept in one Redis hash per asset.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import cast

from config import get_settings
from ingest.assets.models import Asset, AssetStatus, Stage
from ingest.assets.store import AssetStore
from ingest.errors import InvalidMedia, NotFound, PermanentError
from ingest.lifecycle.assets import AssetLifecycle
from ingest.media import chunk_plan, chunking, packaging
from ingest.storage import keys
from runtime import handles
from workers import metrics, pipeline, stages, transcode, workspace
from workers.events import asset_lifecycle

log = logging.getLogger(__name__)
PROGRESS_TTL_S = 7 * 24 * 3600


def encode_chunk(asset_id: str, index: int) -> str:
    """Encode chunk ``index`` of the asset's video in every rendition, into the bucket."""
    return _piece(asset_id, f"chunk {index}", lambda a, asset: _encode_chunk(a, asset, index))


def encode_audio(asset_id: str) -> str:
    """Encode the asset's audio once, in one piece, into the bucket."""
    return _piece(asset_id, "audio", _encode_audio)


def stitch_asset(asset_id: str, chunks: int) -> str:
    """Join the chunks and the audio into the HLS ladder; then the asset goes on to publish."""
    owner = transcode.owner_of(asset_id)
    outcome = stages.run_stage(asset_id, Stage.TRANSCODE, {AssetStatus.PREPARING},
                               lambda a, asset: _stitch(a, asset, chunks))
    if owner is not None:  # the asset's transcode is over: the owner's next one may start
        pipeline.transcode_ended(handles.redis_connection(), handles.asset_store(), owner,
                                 asset_id)
    return outcome


def _piece(asset_id: str, what: str, body: Callable[[AssetLifecycle, Asset], str]) -> str:
    """Run a piece of the asset's transcode unless the asset is gone or no longer preparing;
    a permanent failure ends the asset `errored` and calls off the stitch."""
    assets = asset_lifecycle()
    try:
        asset = assets.store.get(asset_id)
    except NotFound:
        return "gone"
    if asset.status != AssetStatus.PREPARING or asset.source is None:
        log.info("%s of %s: asset is %s, nothing to do", what, asset_id, asset.status.value)
        return "skipped"
    try:
        return body(assets, asset)
    except (stages.AssetGone, NotFound) as exc:
        if isinstance(exc, NotFound) and exc.code != "asset_not_found":
            raise
        log.info("%s of %s: asset deleted while running", what, asset_id)
        return "gone"
    except PermanentError as exc:
        log.error("%s of %s: %s (%s)", what, asset_id, exc, exc.code)
        stages.mark_errored(assets, asset_id, exc.code, exc.message)
        call_off(asset_id, asset.owner)
        return "errored"


def call_off(asset_id: str, owner: str | None) -> None:
    """A piece failed for good: the stitch and publish will not run (their jobs are
    cancelled), so the asset's transcode is over for its owner's count."""
    conn = handles.redis_connection()
    pipeline.cancel_all(conn, asset_id)
    if owner is not None:
        pipeline.transcode_ended(conn, handles.asset_store(), owner, asset_id)


def _failures() -> AbstractContextManager[None]:
    return stages.ffmpeg_failures(
        timeout=PermanentError("Transcoding took longer than allowed.",
                               code="transcode_timeout"),
        failed=InvalidMedia("The video could not be decoded (corrupt or truncated?).",
                            code="transcode_failed"))


def _encode_chunk(assets: AssetLifecycle, asset: Asset, index: int) -> str:
    store, s = assets.store, get_settings()
    assert asset.source is not None
    chunks = chunk_plan.plan_chunks(asset.source.duration_s, s.chunk_duration_s)
    if index >= len(chunks):
        raise PermanentError(f"No chunk {index} in {len(chunks)}.", code="processing_failed")
    chunk = chunks[index]
    if chunking.chunk_stored(store.storage, asset.id, index, asset.version):
        _chunk_done(store, asset, index, chunk.duration_s)  # a re-run: the chunk is made
        return "already_made"
    src = workspace.local_source(store, asset.id, asset.version)
    opts = transcode.transcode_options(asset, src, chunk.duration_s)
    plans = stages.plans_for(asset)  # per-title rates were recorded before the split
    report = _progress(asset, index)
    with _failures():
        started, cpu = time.monotonic(), stages.children_cpu_s()
        chunking.encode_chunk(store.storage, asset.id, src, asset.source.demuxer, plans, chunk,
                              workspace.work_dir(asset.id), opts, report, asset.version)
        elapsed, cpu = time.monotonic() - started, stages.children_cpu_s() - cpu
    _chunk_done(store, asset, index, chunk.duration_s)
    log.info("chunk %d of %s: %.1f s of media from %.1f s in %.1f s, ffmpeg cpu %.1f s "
             "(%d renditions)", index, asset.id, chunk.duration_s, chunk.start_s, elapsed, cpu,
             len(plans))
    return "encoded"


def _encode_audio(assets: AssetLifecycle, asset: Asset) -> str:
    store = assets.store
    assert asset.source is not None
    if chunking.audio_stored(store.storage, asset.id, asset.version):
        return "already_made"
    src = workspace.local_source(store, asset.id, asset.version)
    opts = transcode.transcode_options(asset, src, asset.source.duration_s)
    kbps = stages.plans_for(asset)[0].audio_kbps
    assert kbps is not None, "every rendition has audio"
    with _failures():
        started, cpu = time.monotonic(), stages.children_cpu_s()
        chunking.encode_audio(store.storage, asset.id, src, asset.source.demuxer, kbps,
                              workspace.work_dir(asset.id), opts, asset.version)
        elapsed, cpu = time.monotonic() - started, stages.children_cpu_s() - cpu
    log.info("audio of %s: %.1f s of media in %.1f s, ffmpeg cpu %.1f s", asset.id,
             asset.source.duration_s, elapsed, cpu)
    return "encoded"


def _stitch(assets: AssetLifecycle, asset: Asset, chunks: int) -> str:
    store = assets.store
    assert asset.source is not None
    plans, s, total = stages.plans_for(asset), get_settings(), asset.source.duration_s
    # a copy: only the segment length, niceness and timeout (a transcode's: ample) matter
    opts = packaging.TranscodeOptions(
        video_stream=asset.source.video_stream or 0, audio_stream=asset.source.audio_stream,
        segment_s=s.segment_duration_s, preset=s.x264_preset, threads=s.ffmpeg_threads,
        nice=s.ffmpeg_nice, timeout_s=pipeline.transcode_timeout_s(total))
    report = stages.progress_reporter(store, asset.id, Stage.TRANSCODE, total)
    with _failures():
        started, cpu = time.monotonic(), stages.children_cpu_s()
        playlists = chunking.stitch_to_storage(
            store.storage, asset.id, chunks, plans, workspace.work_dir(asset.id), opts,
            lambda done: report(done), asset.version,
            transcode.segment_publisher(assets, asset, plans))
        elapsed, cpu = time.monotonic() - started, stages.children_cpu_s() - cpu
    log.info("stitch %s: %d chunks, %.1f s of media in %.1f s, ffmpeg cpu %.1f s", asset.id,
             chunks, total, elapsed, cpu)
    outcome = transcode.finish_transcode(assets, asset, plans, playlists)
    metrics.RECORDER.observe(metrics.TRANSCODE_SPEED, total / max(_span(asset), 0.001))
    store.storage.delete_prefix(keys.chunks_prefix(asset.id, asset.version))
    handles.redis_connection().delete(_progress_key(asset))
    return outcome


def _progress_key(asset: Asset) -> str:
    return f"{pipeline.queue_prefix()}:chunk-progress:{asset.id}:v{asset.version}"


def _record_progress(asset: Asset, index: int, seconds: float) -> float:
    """Record what chunk ``index`` has encoded; returns the media seconds every chunk has."""
    conn, key = handles.redis_connection(), _progress_key(asset)
    pipe = conn.pipeline()
    pipe.hset(key, str(index), f"{seconds:.3f}")
    pipe.hsetnx(key, "started", f"{time.time():.3f}")
    pipe.expire(key, PROGRESS_TTL_S)
    pipe.hgetall(key)
    values = cast(dict[bytes, bytes], pipe.execute()[-1])
    return sum(float(v) for k, v in values.items() if k.isdigit())


def _chunk_done(store: AssetStore, asset: Asset, index: int, seconds: float) -> None:
    assert asset.source is not None
    done = _record_progress(asset, index, seconds)
    store.set_progress(asset.id, Stage.TRANSCODE,
                       100.0 * min(1.0, done / max(asset.source.duration_s, 0.001)))


def _span(asset: Asset) -> float:
    """Wall-clock seconds from the first chunk's start to now."""
    raw = handles.redis_connection().hget(_progress_key(asset), "started")
    return time.time() - float(cast(bytes, raw)) if raw else 0.0


def _progress(asset: Asset, index: int) -> Callable[[float], None]:
    """The chunk's ffmpeg progress as the asset's: every chunk's seconds over the duration."""
    assert asset.source is not None
    report = stages.progress_reporter(handles.asset_store(), asset.id, Stage.TRANSCODE,
                                      asset.source.duration_s)
    last = [0.0]

    def progress(done: float) -> None:
        now = time.monotonic()
        if now - last[0] >= stages.PROGRESS_EVERY_S:
            last[0] = now
            report(_record_progress(asset, index, done))
    return progress
