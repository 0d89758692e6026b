"""Per-title bit rates for a transcode: measured once, recorded on the asset, so a retried
transcode and the publish job see the same plans (ingest.media.pertitle decides)."""

from __future__ import annotations

import logging
from pathlib import Path

from config import get_settings
from ingest.assets.models import Asset
from ingest.errors import InvalidMedia, PermanentError
from ingest.lifecycle.assets import AssetLifecycle
from ingest.media import complexity, pertitle
from ingest.media.encoders import LIBX264
from ingest.media.ladder import Rendition
from workers import pipeline, stages, workspace

log = logging.getLogger(__name__)


def transcode_plans(assets: AssetLifecycle, asset: Asset, src: Path, video_stream: int,
                    encoder: str) -> list[Rendition]:
    """The renditions to encode: the fixed ladder, or per-title rates when the setting is on
    (chosen now from a constant-quality sample, unless an earlier run recorded them). The
    sample is an x264 CRF encode, calibrated for x264: a hardware encoder keeps the fixed
    ladder."""
    s = get_settings()
    fixed = stages.plans_for(asset.model_copy(update={"video_kbps": None}))
    if asset.video_kbps is not None:
        return pertitle.apply_video_kbps(fixed, asset.video_kbps)
    assert asset.source is not None, "probe runs first"
    if (not s.per_title_bitrates or encoder != LIBX264.name
            or asset.source.duration_s < s.per_title_min_duration_s):
        return fixed
    crf = pertitle.crf_for_vmaf(s.per_title_target_vmaf)
    with stages.ffmpeg_failures(
            timeout=PermanentError("Analysing the video took longer than allowed.",
                                   code="transcode_timeout"),
            failed=InvalidMedia("The video could not be decoded (corrupt or truncated?).",
                                code="transcode_failed")):
        needed = complexity.needed_kbps(
            src, asset.source.demuxer, fixed, duration_s=asset.source.duration_s,
            video_stream=video_stream, crf=crf, preset=s.x264_preset,
            segment_s=s.segment_duration_s, samples=s.per_title_samples,
            threads=s.ffmpeg_threads, nice=s.ffmpeg_nice,
            timeout_s=pipeline.transcode_timeout_s(asset.source.duration_s),
            work_dir=workspace.work_dir(asset.id))
    kbps = pertitle.choose_video_kbps(fixed, needed)
    log.info("per-title rates of %s at CRF %g: needed %s kbit/s, chosen %s", asset.id, crf,
             {k: round(v) for k, v in needed.items()}, kbps)

    def record(a: Asset) -> None:
        a.video_kbps = kbps

    assets.update(asset.id, record)
    return pertitle.apply_video_kbps(fixed, kbps)
