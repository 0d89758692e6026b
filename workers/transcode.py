"""The transcode job: the whole ladder in one ffmpeg pass, segments uploaded and published while
it runs: the asset is `playable` (EVENT playlists, a multivariant playlist) long before it is
`ready`."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from config import get_settings
from ingest.assets.models import Asset, AssetStatus, CaptionMode, Progress, Stage
from ingest.assets.store import AssetStore
from ingest.errors import FfmpegFailed, FfmpegTimeout, InvalidMedia, NotFound, PermanentError
from ingest.hls import publishing
from ingest.languages import AUTO, canonical_language
from ingest.lifecycle import assets as lifecycle
from ingest.lifecycle.assets import AssetLifecycle
from ingest.media import chunk_plan, commands, encoders, packaging
from ingest.media.encoders import Encoder
from ingest.media.ladder import Rendition
from runtime import handles
from workers import bitrates, metrics, pipeline, stages, workspace
from workers import probe as probe_job

log = logging.getLogger(__name__)
PTS_PROBE_TIMEOUT_S = 30
POSTER_TIMEOUT_S = 30
SPLIT = "split"
"""The transcode job's outcome when it queued chunk jobs and a stitch instead of encoding."""


def transcode_asset(asset_id: str) -> str:
    """Encode the ladder in one ffmpeg pass, uploading segments while it runs."""
    owner = owner_of(asset_id)
    outcome = stages.run_stage(asset_id, Stage.TRANSCODE, {AssetStatus.PREPARING}, _transcode)
    # over (a transient error raised instead: RQ retries, still ours); split: the stitch ends it
    if owner is not None and outcome != SPLIT:
        pipeline.transcode_ended(handles.redis_connection(), handles.asset_store(), owner,
                                 asset_id)
    return outcome


@lru_cache(maxsize=1)
def video_encoder() -> Encoder:
    """This machine's H.264 encoder (run_worker asks before forking its work horses, so they
    inherit the answer). Test encodes take seconds on a busy machine: the answer is kept in
    the data directory until the next boot, so a restarted worker does not wait for them."""
    s = get_settings()
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = "unknown"
    cached = s.data_dir / "cache" / f"video-encoder-{s.video_encoder}-{boot}"
    if cached.is_file() and cached.read_text().strip() in encoders.BY_NAME:
        return encoders.BY_NAME[cached.read_text().strip()]
    chosen = encoders.detect(s.video_encoder, nice=s.ffmpeg_nice)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(chosen.name + "\n")
    return chosen


def owner_of(asset_id: str) -> str | None:
    try:
        return handles.asset_store().get(asset_id).owner
    except NotFound:
        return None


def transcode_options(asset: Asset, src: Path, duration_s: float) -> packaging.TranscodeOptions:
    """How this asset's media is encoded on this worker (streams, preset, encoder, limits);
    ``duration_s`` is the media the run encodes, which sets its timeout."""
    s = get_settings()
    assert asset.source is not None, "probe runs first"
    video_stream, audio_stream = probe_job.recorded_streams(asset.source, src)
    return packaging.TranscodeOptions(
        video_stream=video_stream, audio_stream=audio_stream, segment_s=s.segment_duration_s,
        preset=s.x264_preset, threads=s.ffmpeg_threads,
        nice=s.ffmpeg_nice, timeout_s=pipeline.transcode_timeout_s(duration_s),
        silence_s=None if audio_stream is not None else asset.source.duration_s,
        encoder=video_encoder())


def _transcode(assets: AssetLifecycle, asset: Asset) -> str:
    asset_id, store = asset.id, assets.store
    s = get_settings()
    assert asset.source is not None, "probe runs first"
    src = workspace.local_source(store, asset_id, asset.version)
    opts = transcode_options(asset, src, asset.source.duration_s)
    plans = bitrates.transcode_plans(assets, asset, src, opts.video_stream, opts.encoder.name)
    if chunk_plan.is_chunked(asset.source.duration_s, s.chunked_min_duration_s):
        # the plans are recorded on the asset (per-title rates): every chunk encodes the same
        count = len(chunk_plan.plan_chunks(asset.source.duration_s, s.chunk_duration_s))
        pipeline.chunked_transcode(handles.redis_connection(), asset_id,
                                   asset.source.duration_s, count)
        log.info("transcode %s: %.1f s of video in %d chunks of %d s", asset_id,
                 asset.source.duration_s, count, s.chunk_duration_s)
        return SPLIT
    report = stages.progress_reporter(store, asset_id, Stage.TRANSCODE, asset.source.duration_s)
    with stages.ffmpeg_failures(
            timeout=PermanentError("Transcoding took longer than allowed.",
                                   code="transcode_timeout"),
            failed=InvalidMedia("The video could not be decoded (corrupt or truncated?).",
                                code="transcode_failed")):
        started, cpu = time.monotonic(), stages.children_cpu_s()
        playlists = packaging.transcode_to_storage(
            store.storage, asset_id, src, asset.source.demuxer, plans,
            workspace.work_dir(asset_id), opts, report, asset.version,
            segment_publisher(assets, asset, plans))
        elapsed, cpu = time.monotonic() - started, stages.children_cpu_s() - cpu
    speed = asset.source.duration_s / max(elapsed, 0.001)
    metrics.RECORDER.observe(metrics.TRANSCODE_SPEED, speed)
    log.info("transcode %s: %.1f s of media in %.1f s (%.2fx real time, %d renditions), "
             "ffmpeg cpu %.1f s", asset_id, asset.source.duration_s, elapsed, speed, len(plans),
             cpu)
    return finish_transcode(assets, asset, plans, playlists)


def segment_publisher(assets: AssetLifecycle, asset: Asset,
                      plans: Sequence[Rendition]) -> packaging.SegmentsCallback:
    """What a packaging run calls as its segments reach the bucket: list them in growing
    EVENT playlists; once every rendition has its first one, the multivariant playlist
    (declared bandwidths) makes the asset playable."""
    store, s = assets.store, get_settings()
    growing = publishing.GrowingPlaylists(
        store.storage, asset.id, packaging.playlist_paths(workspace.work_dir(asset.id), plans),
        s.segment_duration_s, asset.version)
    playable = [asset.playable]

    def publish_segments(uploaded: Mapping[str, frozenset[str]]) -> None:
        if growing.update(uploaded) and not playable[0]:
            publishing.write_master(store.storage, asset.id, plans, version=asset.version)
            assets.update(asset.id, lifecycle.mark_playable)
            playable[0] = True
    return publish_segments


def finish_transcode(assets: AssetLifecycle, asset: Asset, plans: Sequence[Rendition],
                     playlists: Mapping[str, Path]) -> str:
    """Every segment is in the bucket: VOD media playlists, the first video PTS, the poster,
    stage `publish`, and captions queued beside publishing."""
    asset_id, store, s = asset.id, assets.store, get_settings()
    assert asset.source is not None, "probe runs first"
    publishing.store_media_playlists(store.storage, asset_id, playlists, s.segment_duration_s,
                                     asset.version)
    if store.is_deleted(asset_id):
        raise stages.AssetGone(asset_id)
    # Measured once here, before publishing and captions run side by side: subtitle segments
    # name this first video PTS in X-TIMESTAMP-MAP.
    start_pts = publishing.measure_start_pts(store.storage, asset_id, plans[0].name,
                                             timeout_s=PTS_PROBE_TIMEOUT_S, nice=s.ffmpeg_nice,
                                             version=asset.version)
    has_poster = _poster(store, asset_id, plans, s.ffmpeg_nice, asset.version)
    wants_captions = _wants_captions(asset)

    def change(a: Asset) -> None:
        a.hls_start_pts = start_pts
        a.has_poster = has_poster
        a.progress = Progress(stage=Stage.PUBLISH, percent=0)
        if wants_captions and a.language != AUTO:  # auto: the track appears once detected
            lifecycle.track_preparing(a, canonical_language(a.language))

    assets.update(asset_id, change)
    if wants_captions:  # beside publishing, on the captions queue
        pipeline.captions(handles.redis_connection(), asset_id, asset.source.duration_s)
    return "transcoded"


def _poster(store: AssetStore, asset_id: str, plans: Sequence[Rendition], nice: int,
            version: int) -> bool:
    """The poster frame, from the smallest rendition at least POSTER_WIDTH wide. It is only a
    picture for the studio: a failure is logged and the asset goes on without one."""
    wide = [p for p in plans if p.width >= commands.POSTER_WIDTH]
    plan = min(wide, key=lambda p: p.width) if wide else max(plans, key=lambda p: p.width)
    try:
        publishing.make_poster(store.storage, asset_id, plan.name,
                               timeout_s=POSTER_TIMEOUT_S, nice=nice, version=version)
    except (FfmpegFailed, FfmpegTimeout) as exc:
        log.warning("asset %s: no poster frame: %s", asset_id, exc)
        return False
    return True


def _wants_captions(asset: Asset) -> bool:
    """Automatic captions: asked for, audio to hear, and no person's track to overwrite."""
    assert asset.source is not None
    current = (None if asset.language == AUTO
               else asset.caption(canonical_language(asset.language)))
    return (asset.caption_mode == CaptionMode.AUTO and asset.source.has_audio
            and not (current is not None and current.is_human))
