"""Which sources are encoded in chunks, and where the chunks fall: pure, so the pipeline can
decide without importing what runs ffmpeg (ingest.media.chunking does the work)."""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_LAST_CHUNK_S = 1.0
"""A last chunk shorter than this joins the one before (a chunk job for a fraction of a
second costs an ffmpeg start for almost nothing)."""


@dataclass(frozen=True)
class Chunk:
    index: int
    start_s: float
    duration_s: float
    """As the probe's duration says; the last chunk is read to the end of the source,
    however long that really is."""
    last: bool


def is_chunked(duration_s: float, min_duration_s: float) -> bool:
    """Whether a source of ``duration_s`` is encoded in chunks (``min_duration_s`` 0: never)."""
    return min_duration_s > 0 and duration_s > min_duration_s


def plan_chunks(duration_s: float, chunk_s: int) -> list[Chunk]:
    """The chunks of a source: ``chunk_s`` each from 0 (segment boundaries), the last one
    taking what remains (at least MIN_LAST_CHUNK_S, else it joins the one before)."""
    if duration_s <= 0 or chunk_s <= 0:
        raise ValueError("duration and chunk length must be positive")
    count = max(1, math.ceil(duration_s / chunk_s))
    if count > 1 and duration_s - (count - 1) * chunk_s < MIN_LAST_CHUNK_S:
        count -= 1
    return [Chunk(i, float(i * chunk_s),
                  float(chunk_s) if i < count - 1 else duration_s - (count - 1) * chunk_s,
                  last=i == count - 1)
            for i in range(count)]
