"""RQ jobs: thin, idempotent, keyed by asset id. Each reloads the asset and returns quietly when
it was deleted or has already moved on. Permanent errors end the asset `errored` with a code;
transient ones raise, so RQ retries them (workers.pipeline declares how)."""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from config import get_settings
from ingest import commands, ffmpeg, keys, packaging, probe, publishing
from ingest.assets import AssetStore
from ingest.caption_store import canonical_language
from ingest.errors import FfmpegFailed, FfmpegTimeout, InvalidMedia, NotFound, PermanentError
from ingest.ladder import RenditionPlan, select_renditions
from ingest.models import (
    Asset,
    AssetStatus,
    CaptionMode,
    CaptionSource,
    CaptionStatus,
    CaptionTrack,
    ErrorInfo,
    Progress,
    SourceInfo,
    Stage,
)
from ingest.subtitles_publish import rendition_published, subtitle_tracks
from workers import context, pipeline

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 1.0
PTS_PROBE_TIMEOUT_S = 30


class AssetGone(Exception):
    """The asset was deleted while the job ran: stop quietly."""


def probe_asset(asset_id: str) -> str:
    """Fetch the source, identify it, probe it, validate it; then queue the transcode."""
    return _run_stage(asset_id, Stage.PROBE, {AssetStatus.WAITING, AssetStatus.PREPARING}, _probe)


def transcode_asset(asset_id: str) -> str:
    """Encode the ladder in one ffmpeg pass, uploading segments while it runs."""
    return _run_stage(asset_id, Stage.TRANSCODE, {AssetStatus.PREPARING}, _transcode)


def publish_asset(asset_id: str) -> str:
    """Check the renditions in storage and write the multivariant playlist last."""
    return _run_stage(asset_id, Stage.PUBLISH, {AssetStatus.PREPARING}, _publish)


def _probe(store: AssetStore, asset: Asset) -> str:
    asset_id = asset.id
    s = get_settings()
    src = _local_source(store, asset_id)
    with src.open("rb") as fh:
        demuxer = probe.sniff_demuxer(fh.read(probe.SNIFF_BYTES))
    try:
        result = ffmpeg.run(commands.probe_command(src, demuxer), timeout_s=s.probe_timeout_s,
                            nice=s.ffmpeg_nice, capture_stdout=True)
    except FfmpegFailed as exc:
        raise InvalidMedia("The file could not be read as media (corrupt or truncated?).",
                           code="probe_failed") from exc
    info = probe.parse_probe(result.stdout, demuxer)
    probe.validate(info, context.limits(s))
    source = SourceInfo(
        demuxer=demuxer, format_name=info.format_name, duration_s=info.duration_s,
        width=info.width, height=info.height, fps=info.fps, video_codec=info.video_codec,
        audio_codec=info.audio_codec, has_audio=info.has_audio, size_bytes=src.stat().st_size)

    def change(a: Asset) -> None:
        a.source = source
        a.duration_s = round(info.duration_s, 3)
        a.progress = Progress(stage=Stage.TRANSCODE, percent=0)

    store.update(asset_id, change)
    pipeline.after_probe(context.redis_connection(), asset_id, info.duration_s)
    return "probed"


def _transcode(store: AssetStore, asset: Asset) -> str:
    asset_id = asset.id
    s = get_settings()
    assert asset.source is not None, "probe runs first"
    src = _local_source(store, asset_id)
    plans = plans_for(asset)
    opts = packaging.TranscodeOptions(
        segment_s=s.segment_duration_s, preset=s.x264_preset, threads=s.ffmpeg_threads,
        nice=s.ffmpeg_nice, timeout_s=pipeline.transcode_timeout_s(asset.source.duration_s))
    report = progress_reporter(store, asset_id, Stage.TRANSCODE, asset.source.duration_s)
    with ffmpeg_failures(
            timeout=PermanentError("Transcoding took longer than allowed.",
                                   code="transcode_timeout"),
            failed=InvalidMedia("The video could not be decoded (corrupt or truncated?).",
                                code="transcode_failed")):
        packaging.transcode_to_storage(store.storage, asset_id, src, asset.source.demuxer,
                                       plans, _work_dir(asset_id), opts, report)
    if store.is_deleted(asset_id):
        raise AssetGone(asset_id)
    # Measured once here, before publishing and captions run side by side: subtitle segments
    # name this first video PTS in X-TIMESTAMP-MAP.
    start_pts = publishing.measure_start_pts(store.storage, asset_id, plans[0].name,
                                             timeout_s=PTS_PROBE_TIMEOUT_S, nice=s.ffmpeg_nice)
    wants_captions = _wants_captions(asset)

    def change(a: Asset) -> None:
        a.hls_start_pts = start_pts
        a.progress = Progress(stage=Stage.PUBLISH, percent=0)
        if wants_captions:
            a.set_caption(CaptionTrack(language=canonical_language(a.language),
                                       source=CaptionSource.ASR, status=CaptionStatus.PREPARING))

    store.update(asset_id, change)
    if wants_captions:  # beside publishing, on the captions queue
        pipeline.captions(context.redis_connection(), asset_id, asset.source.duration_s)
    return "transcoded"


def _wants_captions(asset: Asset) -> bool:
    """Automatic captions: asked for, audio to hear, and no person's track to overwrite."""
    assert asset.source is not None
    current = asset.caption(canonical_language(asset.language))
    return (asset.caption_mode == CaptionMode.AUTO and asset.source.has_audio
            and not (current is not None and current.is_human))


def _publish(store: AssetStore, asset: Asset) -> str:
    asset_id = asset.id
    assert asset.source is not None, "probe runs first"
    plans = plans_for(asset)
    published = publishing.verify_renditions(store.storage, asset_id, plans,
                                             asset.source.duration_s)
    block = get_settings().captions_block_ready

    def change(a: Asset) -> None:
        a.renditions, a.duration_s = published.renditions, published.duration_s
        a.error = None
        waiting = block and any(t.status == CaptionStatus.PREPARING for t in a.captions)
        a.status = AssetStatus.PREPARING if waiting else AssetStatus.READY
        a.progress = (Progress(stage=Stage.CAPTIONS, percent=0) if waiting
                      else Progress(stage=Stage.DONE, percent=100))
        subtitles = subtitle_tracks(a, lambda lang: rendition_published(store.storage, a.id, lang))
        publishing.write_master(store.storage, a.id, published.variants, subtitles)

    # Under the asset's lock: a caption job finishing now either lands before (and is listed
    # here) or after (and rewrites the playlist itself). Waiting for captions, the new stage's
    # live progress starts at 0 (AssetStore.save follows the stage).
    store.update(asset_id, change)
    _clean_work_dir(asset_id)
    return "ready"


def plans_for(asset: Asset) -> list[RenditionPlan]:
    src = asset.source
    assert src is not None and src.width and src.height
    return select_renditions(src.width, src.height, src.fps, src.has_audio)


def on_job_failure(job: Any, connection: Any, exc_type: type[BaseException],
                   exc: BaseException, tb: TracebackType | None) -> None:
    """RQ failure callback: once no retry is left, the asset ends `errored` (never stuck)."""
    if job.retries_left:
        return
    asset_id = str(job.args[0])
    log.error("job %s failed for good: %s: %s", job.id, exc_type.__name__, exc)
    store = context.asset_store()
    with contextlib.suppress(NotFound):  # deleted meanwhile: nothing to mark
        _mark_errored(store, asset_id, "processing_failed",
                      f"Processing failed after retries ({exc_type.__name__}).")


def _run_stage(asset_id: str, stage: Stage, runnable: set[AssetStatus],
               body: Callable[[AssetStore, Asset], str]) -> str:
    """Load the asset, enter the stage, run it, and turn the outcome into the asset's state."""
    store = context.asset_store()
    try:
        asset = store.get(asset_id)
    except NotFound:
        log.info("%s %s: asset is gone, nothing to do", stage.value, asset_id)
        return "gone"
    if asset.status not in runnable or (stage != Stage.PROBE and asset.source is None):
        log.info("%s %s: asset is %s, nothing to do", stage.value, asset_id, asset.status.value)
        return "skipped"

    def enter(a: Asset) -> None:
        a.status = AssetStatus.PREPARING
        a.progress = Progress(stage=stage, percent=0)
        a.attempts += 1

    try:
        asset = store.update(asset_id, enter)
        store.set_progress(asset_id, stage, 0)
        return body(store, asset)
    except (AssetGone, NotFound) as exc:
        if isinstance(exc, NotFound) and exc.code != "asset_not_found":
            raise
        log.info("%s %s: asset deleted while running; removing what the job wrote",
                 stage.value, asset_id)
        store.storage.delete_prefix(keys.asset_prefix(asset_id))
        _clean_work_dir(asset_id)
        return "gone"
    except PermanentError as exc:
        log.error("%s %s: %s (%s)", stage.value, asset_id, exc.message, exc.code)
        _mark_errored(store, asset_id, exc.code, exc.message)
        return "errored"


def _mark_errored(store: AssetStore, asset_id: str, code: str, message: str) -> None:
    def change(a: Asset) -> None:
        a.status = AssetStatus.ERRORED
        a.error = ErrorInfo(code=code, message=message)

    store.update(asset_id, change)
    store.storage.delete_prefix(keys.hls_prefix(asset_id))  # the source stays for inspection
    _clean_work_dir(asset_id)


def progress_reporter(store: AssetStore, asset_id: str, stage: Stage, total: float,
                      when: Callable[[], bool] = lambda: True) -> Callable[[float], None]:
    """A callback that records ``done / total`` as the stage's live percent, at most once a
    second and only while ``when()`` holds."""
    last = [0.0]

    def report(done: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            if store.is_deleted(asset_id):
                raise AssetGone(asset_id)  # stops ffmpeg now rather than at the end
            if when():
                store.set_progress(asset_id, stage, 100.0 * min(1.0, done / max(total, 0.001)))
    return report


@contextmanager
def ffmpeg_failures(*, timeout: PermanentError, failed: PermanentError) -> Iterator[None]:
    """ffmpeg's failures as a job's outcome: running too long and undecodable input are
    permanent (the given errors); killed by a signal (OOM, operator) is transient, re-raised
    for RQ to retry."""
    try:
        yield
    except FfmpegTimeout as exc:
        raise timeout from exc
    except FfmpegFailed as exc:
        if exc.killed_by_signal:
            raise
        raise failed from exc


def work_root() -> Path:
    """This host's scratch space of the jobs (sources, encoder output), one folder per asset."""
    path = get_settings().data_dir.resolve() / "work"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _work_dir(asset_id: str) -> Path:
    path = work_root() / asset_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def _clean_work_dir(asset_id: str) -> None:
    shutil.rmtree(work_root() / asset_id, ignore_errors=True)


def cached_source(asset_id: str) -> Path | None:
    """The complete local copy of the source an earlier job on this host fetched, if any."""
    path = work_root() / asset_id / "source"
    return path if path.exists() and path.with_suffix(".complete").exists() else None


def download_source(store: AssetStore, asset_id: str, target: Path) -> None:
    """Fetch the uploaded source to ``target``; its absence is permanent (`source_missing`)."""
    try:
        store.storage.download_file(keys.source(asset_id), target)
    except NotFound as exc:
        raise PermanentError("The uploaded source is missing from storage.",
                             code="source_missing") from exc


def _local_source(store: AssetStore, asset_id: str) -> Path:
    """The source on local disk; reused when an earlier job on this host fetched it already."""
    cached = cached_source(asset_id)
    if cached is not None:
        return cached
    path = _work_dir(asset_id) / "source"
    partial = path.with_suffix(".part")
    download_source(store, asset_id, partial)
    partial.rename(path)
    path.with_suffix(".complete").touch()
    return path
