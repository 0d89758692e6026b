"""Per-title bit rates: what each rung of the ladder needs for this source, never more than the
fixed ladder gives it.

The fixed ladder (ingest.media.ladder.LADDER) spends the same bits on a speaker in front of a
wall as on a handheld crowd shot. Before the transcode, a few short windows of the source are
encoded at constant quality (x264 CRF, the production preset, every rung in one ffmpeg:
ingest.media.complexity); the bit rate each rung took there is what that source needs at that
quality. The CRF comes from the target VMAF of the top rung, through a table measured with
bench/quality.py. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

from ingest.media.ladder import Rendition, with_video_kbps

VMAF_TO_CRF: tuple[tuple[float, float], ...] = (
    (90.0, 25.6),
    (93.0, 23.2),
    (95.0, 21.2),
    (97.0, 18.8),
)
"""(VMAF of the top rung, x264 CRF at the production preset that reaches it), ascending VMAF.
Measured by ``bench/quality.py --calibrate-only`` (docs/benchmarks.md, "Quality per bit"):
the mean over three real clips of the CRF whose 1080p veryfast encode scores that VMAF
(vmaf_v0.6.1). The clips spread widely (VMAF 95 at CRF 17.5 to 24.1), so a source reaches
the target only on average; the bench prints what each one reached."""

HEADROOM = 1.15
"""The constant-quality rate times this is the rate asked of the one-pass ABR encode: ABR spends
bits less well than CRF, and the windows are a sample of the source, not all of it."""

FLOOR_FRACTION = 0.25
"""No rung goes below this share of its fixed-ladder rate, whatever the sample says: a sample
of still slides must not starve the motion that the windows missed."""


def sample_windows(duration_s: float, count: int, length_s: float) -> list[tuple[float, float]]:
    """``count`` windows (start, length) of ``length_s``, one centred in each equal part of the
    source; the whole source as one window when it is no longer than the windows together."""
    if count < 1 or length_s <= 0:
        raise ValueError("at least one window of positive length is needed")
    if duration_s <= count * length_s:
        return [(0.0, round(duration_s, 3))]
    part = duration_s / count
    return [(round(part * i + (part - length_s) / 2, 3), length_s) for i in range(count)]


def crf_for_vmaf(target: float, table: Sequence[tuple[float, float]] = VMAF_TO_CRF) -> float:
    """The CRF expected to reach ``target`` VMAF on the top rung: linear between the measured
    points, clamped to the table's ends."""
    if target <= table[0][0]:
        return table[0][1]
    for (v0, c0), (v1, c1) in pairwise(table):
        if target <= v1:
            return round(c0 + (c1 - c0) * (target - v0) / (v1 - v0), 2)
    return table[-1][1]


def kbps_of(size_bytes: int, seconds: float) -> float:
    """Mean bit rate, kbit/s, of ``size_bytes`` of stream lasting ``seconds``."""
    if seconds <= 0:
        raise ValueError("a stream of positive duration is needed")
    return size_bytes * 8 / 1000 / seconds


def choose_video_kbps(plans: Sequence[Rendition], needed_kbps: Mapping[str, float], *,
                      headroom: float = HEADROOM,
                      floor_fraction: float = FLOOR_FRACTION) -> dict[str, int]:
    """Video kbit/s per rendition name: what the sample needed (times ``headroom``), between
    ``floor_fraction`` of the fixed rate and the fixed rate itself, and never above a taller
    rendition's choice (a lower rung that costs more than the one above it is of no use)."""
    chosen: dict[str, int] = {}
    above: int | None = None
    for plan in sorted(plans, key=lambda p: p.height, reverse=True):
        ceiling = plan.video_kbps if above is None else min(plan.video_kbps, above)
        floor = min(ceiling, round(plan.video_kbps * floor_fraction))
        kbps = max(floor, min(ceiling, round(needed_kbps[plan.name] * headroom)))
        chosen[plan.name] = above = kbps
    return chosen


def apply_video_kbps(plans: Sequence[Rendition], kbps: Mapping[str, int]) -> list[Rendition]:
    """The plans at the chosen rates; a plan the mapping does not name keeps its fixed rate."""
    return [with_video_kbps(p, kbps[p.name]) if p.name in kbps else p for p in plans]
