"""Live captions, the pure part: which words of a rolling window are final, and the WebVTT
segment of each video segment.

Times here are a run's *local* time: seconds since the run's first video frame, whose PTS
(measured on its first segment) every WebVTT segment of the run names in
``X-TIMESTAMP-MAP=MPEGTS:<pts>,LOCAL:00:00:00.000``, as VOD tracks do (ingest.hls.
webvtt_segments). A player thus puts a cue where its words are in the video, in every run
(each run's timestamps start anew after its discontinuity).

The audio side output of the run (``commands.live_speech_output``) starts at the run's output
time 0, which the MPEG-TS muxer writes as PTS ``MUX_ORIGIN_PTS``: so local time = audio time -
(first video PTS - MUX_ORIGIN_PTS) / 90 kHz.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.captions.building import build_cues, cue_style
from ingest.captions.files import Cue, Word, to_webvtt
from ingest.hls.webvtt_segments import MPEGTS_CLOCK_HZ

MUX_ORIGIN_PTS = 126_000
"""PTS of output time 0 in ffmpeg's MPEG-TS segments: the muxer adds twice its default
`max_delay` (0.7 s) to every timestamp (libavformat/mpegtsenc.c)."""
HOLD_S = 1.0
"""The last second of a window is never final (but at the run's end): a word there may be cut
by the window's end, and Whisper drops or mishears a cut word; the next window hears it whole."""
LEAD_S = 0.5
"""A window starts this long before the first word not final yet: Whisper often misses a word
that begins right at the start of its input. Words it hears in the lead are not kept."""
MAX_PENDING_S = 12.0
"""A window never reaches further back than this: past it every word that began is final, so
a speaker who never pauses still gets captions within that delay."""
SILENCE_RMS = 200
"""Below this (int16 RMS of every 100 ms, about -44 dBFS) a window is silence: it is not given
to Whisper, which hallucinates words ("Thank you.") in silence and costs the same."""
PLACE_MARGIN_S = 0.5
"""A cue goes into every segment it overlaps by this margin: segment bounds are sums of
rounded durations, and a duplicate in the next segment costs nothing (players drop it)."""


@dataclass(frozen=True)
class Heard:
    """What one window made final, and where the next window starts."""

    final: list[Word]
    committed_to: float
    """Every word that starts before this time is final (the next window starts here)."""


def settle(words: Sequence[Word], window_start: float, window_end: float,
           force: bool = False) -> Heard:
    """Split a window's words (local times; the window's audio began LEAD_S early) into final
    ones and the tail heard again next time: the words from the first one that ends in the
    window's last HOLD_S on. Words of the lead (mostly before ``window_start``) are dropped:
    they were final already. ``force`` (the run ended) makes every word final; a window of
    MAX_PENDING_S every word that began before its last HOLD_S."""
    fresh = sorted((w for w in words if (w.start + w.end) / 2 >= window_start),
                   key=lambda w: w.start)
    if force:
        return Heard(fresh, window_end)
    cut = window_end - HOLD_S
    if window_end - window_start >= MAX_PENDING_S:
        final = [w for w in fresh if w.start < cut]
        return Heard(final, min(window_end, max([cut, *(w.end for w in final)])))
    for n, word in enumerate(fresh):
        if word.end > cut:
            return Heard(fresh[:n], max(window_start, min(word.start, cut)))
    return Heard(fresh, max(window_start, cut))


def is_silence(samples: np.ndarray[Any, Any], rate: int) -> bool:
    """Whether no 100 ms of int16 ``samples`` is louder than SILENCE_RMS."""
    frame = rate // 10
    whole = samples[: samples.size // frame * frame].astype(np.float32).reshape(-1, frame)
    return whole.size == 0 or float(np.sqrt((whole ** 2).mean(axis=1)).max()) < SILENCE_RMS


def trim_to_sound(words: Sequence[Word], samples: np.ndarray[Any, Any], start_s: float,
                  rate: int) -> list[Word]:
    """Words whose start lies in silence start at their first sound instead (the first 20 ms
    louder than SILENCE_RMS): Whisper gives a window's first word the silence before it, so
    its cue would show before the speaker says it. ``samples`` begin at ``start_s``."""
    frame = rate // 50
    count = samples.size // frame
    if count == 0:
        return list(words)
    frames = samples[: count * frame].astype(np.float32).reshape(count, frame)
    loud = np.sqrt((frames ** 2).mean(axis=1)) >= SILENCE_RMS
    trimmed = []
    for word in words:
        first = max(0, int((word.start - start_s) * 50))
        last = min(count, int((word.end - start_s) * 50))
        sound = np.flatnonzero(loud[first:last])
        start = word.start
        if sound.size and sound[0] > 0:
            start = min(word.end, round(start_s + (first + int(sound[0])) / 50, 3))
        trimmed.append(Word(word.word, start, word.end))
    return trimmed


def cues_of(final: Sequence[Word], language: str, committed_to: float,
            previous_end: float) -> list[Cue]:
    """Cues of one window's final words: the house cue rules, none on screen before
    ``previous_end`` (the last cue already placed) nor past ``committed_to`` (the next
    window's words may start there)."""
    cues = []
    for cue in build_cues(final, media_end=committed_to, style=cue_style(language)):
        start = round(max(cue.start, previous_end), 3)
        end = round(min(cue.end, committed_to), 3)
        if end <= start:
            end = round(start + 0.001, 3)
        cues.append(Cue(start, end, cue.text))
        previous_end = end
    return cues


def segment_cues(cues: Sequence[Cue], start: float, end: float) -> list[Cue]:
    """The cues a segment covering [start, end) carries, cues before local 0 moved to 0."""
    return [Cue(max(0.0, c.start), max(c.end, 0.001), c.text) for c in cues
            if c.start < end + PLACE_MARGIN_S and c.end > start - PLACE_MARGIN_S]


def webvtt_segment(cues: Sequence[Cue], first_pts: int) -> str:
    """One WebVTT segment of a run whose first video frame has PTS ``first_pts``."""
    return to_webvtt(cues, header=(f"X-TIMESTAMP-MAP=MPEGTS:{first_pts},LOCAL:00:00:00.000",))


def audio_offset(first_pts: int) -> float:
    """Seconds of the run's audio before its first video frame (local time 0)."""
    return (first_pts - MUX_ORIGIN_PTS) / MPEGTS_CLOCK_HZ
