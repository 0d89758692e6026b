"""The probe job: fetch the source, identify it, probe and validate it, then queue the transcode."""

from __future__ import annotations

import logging
from pathlib import Path

from config import get_settings
from ingest.assets.models import Asset, AssetStatus, Progress, Stage
from ingest.errors import FfmpegFailed, InvalidMedia, LimitExceeded
from ingest.lifecycle.assets import AssetLifecycle
from ingest.media import commands, ffmpeg, probe
from runtime import handles
from workers import pipeline, stages, workspace

log = logging.getLogger(__name__)


def probe_asset(asset_id: str) -> str:
    """Fetch the source, identify it, probe it, validate it; then queue the transcode."""
    runnable = {AssetStatus.WAITING, AssetStatus.PREPARING}
    return stages.run_stage(asset_id, Stage.PROBE, runnable, _probe)


def examine(src: Path) -> probe.MediaInfo:
    """Sniff, probe and validate a local source: the streams it names are the ones to decode."""
    s = get_settings()
    with src.open("rb") as fh:
        demuxer = probe.sniff_demuxer(fh.read(probe.SNIFF_BYTES))
    try:
        result = ffmpeg.run(commands.probe_command(src, demuxer), timeout_s=s.probe_timeout_s,
                            nice=s.ffmpeg_nice, capture_stdout=True)
    except FfmpegFailed as exc:
        raise InvalidMedia("The file could not be read as media (corrupt or truncated?).",
                           code="probe_failed") from exc
    info = probe.parse_probe(result.stdout, demuxer, size_bytes=src.stat().st_size)
    probe.validate(info, handles.limits(s))
    return info


def recorded_streams(source: probe.MediaInfo, src: Path) -> tuple[int, int | None]:
    """The (video, audio) stream indexes the probe recorded; records written before indexes
    were kept are probed again rather than decoded with a guess."""
    if source.video_stream is not None and (source.audio_stream is not None
                                            or not source.has_audio):
        return source.video_stream, source.audio_stream
    info = examine(src)
    assert info.video_stream is not None, "validate refuses media without a video stream"
    return info.video_stream, info.audio_stream


def _probe(assets: AssetLifecycle, asset: Asset) -> str:
    asset_id, store = asset.id, assets.store
    src = workspace.local_source(store, asset_id, asset.version)
    info = examine(src)
    if asset.max_duration_s is not None and info.duration_s > asset.max_duration_s:
        raise LimitExceeded(
            f"The video lasts {info.duration_s:.0f} s; its upload link allows at most "
            f"{asset.max_duration_s:g} s.", code="duration_exceeds_upload_limit")

    def change(a: Asset) -> None:
        a.source = info
        a.duration_s = round(info.duration_s, 3)
        a.progress = Progress(stage=Stage.TRANSCODE, percent=0)

    assets.update(asset_id, change)
    pipeline.after_probe(handles.redis_connection(), asset_id, info.duration_s,
                         owner=asset.owner)
    return "probed"
