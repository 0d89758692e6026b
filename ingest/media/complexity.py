"""The per-title analysis run: constant-quality encodes of a few windows of the source, every
rendition in one ffmpeg (commands.complexity_probe_command), read back as the bit rate each
rendition needed. What to do with those rates is ingest.media.pertitle's pure business."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from ingest.media import commands, ffmpeg, pertitle
from ingest.media.ladder import Rendition


def needed_kbps(
    source: Path, demuxer: str, plans: Sequence[Rendition], *, duration_s: float,
    video_stream: int, crf: float, preset: str, segment_s: int, samples: int, threads: int,
    nice: int, timeout_s: float, work_dir: Path,
) -> dict[str, float]:
    """Video kbit/s each rendition took at ``crf`` over ``samples`` windows of one segment."""
    windows = pertitle.sample_windows(duration_s, samples, float(segment_s))
    out_dir = work_dir / "complexity"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    args = commands.complexity_probe_command(
        source, demuxer, out_dir, plans, windows, video_stream=video_stream, crf=crf,
        preset=preset, segment_s=segment_s, threads=threads)
    ffmpeg.run(args, timeout_s=timeout_s, nice=nice, cwd=work_dir)
    seconds = sum(length for _, length in windows)
    try:
        return {p.name: pertitle.kbps_of((out_dir / f"{p.name}.h264").stat().st_size, seconds)
                for p in plans}
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
