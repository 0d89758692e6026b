"""Cue building from speech-recognition word timings (the timing and line rules of issue 3).

Line length and reading speed depend on the script (``CueStyle``): Latin-script languages
follow the common broadcast rule of 42 characters a line and ~20 characters/s; Chinese and
Japanese follow the Netflix Timed Text Style Guides for Simplified/Traditional Chinese
(16 characters a line, 9 characters/s for adult programmes) and Japanese (13 full-width
characters, 4 characters/s). Lines are measured in characters; no space is put between
characters of those scripts; breaks fall after Chinese punctuation (full-width comma, stop,
question and exclamation marks, enumeration comma, semicolon, colon) and at pauses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.captions.files import Cue, Word
from ingest.captions.text import (
    CLAUSE_END,
    MAX_LINE_CHARS,
    SENTENCE_END,
    LineLengths,
    wrap_lines,
)
from ingest.languages import primary_subtag

MIN_CUE_S = 1.0
MAX_CUE_S = 7.0
MAX_CPS = 20.0
"""Reading speed limit, characters per second, used to keep built cues on screen long enough."""
PAUSE_S = 0.6
"""A silence longer than this between two words is a good place to break a cue."""



@dataclass(frozen=True)
class CueStyle:
    max_line_chars: int = MAX_LINE_CHARS
    max_cps: float = MAX_CPS
    """Reading speed: characters per second a cue needs on screen."""


LATIN = CueStyle()
CHINESE = CueStyle(max_line_chars=16, max_cps=9.0)
JAPANESE = CueStyle(max_line_chars=13, max_cps=4.0)
_STYLES = {"zh": CHINESE, "cmn": CHINESE, "yue": CHINESE, "ja": JAPANESE}


def cue_style(language: str) -> CueStyle:
    """The line and reading-speed rules of ``language`` (a BCP-47 tag)."""
    return _STYLES.get(primary_subtag(language), LATIN)


_CUE_COST = 1.0  # each extra cue costs this: favours full cues over many short ones
_BREAK_COST = {"sentence": 0.0, "clause": 0.6, "pause": 0.9, "none": 2.0}
_SENTENCE_INSIDE_COST = 0.5  # a new sentence inside a cue: allowed when the cue stays short
_PAUSE_INSIDE_COST = 2.0  # per second of silence inside a cue (text shown before it is said)
_READING_COST = 2.0  # per second a cue is shorter than reading speed or MIN_CUE_S needs


def build_cues(words: Sequence[Word], *, media_end: float | None = None,
               style: CueStyle = LATIN) -> list[Cue]:
    """Group ASR words into cues: <= 2 lines of <= 42 chars, 1-7 s, ~20 chars/s, no overlaps
    (or ``style``'s line length and reading speed).

    Breaks are chosen for the whole track at once (dynamic programming over word boundaries),
    preferring sentence ends, then clause punctuation, then pauses longer than PAUSE_S.
    Cues stay on screen into the following gap when reading speed needs it, never past the
    next cue nor ``media_end``.
    """
    tokens = _clean_words(words)
    if not tokens:
        return []
    lengths = LineLengths([t.word for t in tokens], style.max_line_chars)
    groups = _choose_groups(tokens, lengths, style)
    return _time_cues(tokens, groups, media_end, style)


def _clean_words(words: Sequence[Word]) -> list[Word]:
    cleaned = [
        Word(" ".join(w.word.split()), max(0.0, w.start), max(w.start, w.end, 0.0))
        for w in words
        if w.word.strip() and math.isfinite(w.start) and math.isfinite(w.end)
    ]
    return sorted(cleaned, key=lambda w: w.start)


def _boundary(tokens: Sequence[Word], k: int) -> tuple[str, float]:
    """Kind of the boundary after word k and the silence that follows it."""
    pause = tokens[k + 1].start - tokens[k].end if k + 1 < len(tokens) else math.inf
    if SENTENCE_END.search(tokens[k].word):
        return "sentence", pause
    if CLAUSE_END.search(tokens[k].word):
        return "clause", pause
    return ("pause" if pause > PAUSE_S else "none"), pause


def _choose_groups(tokens: Sequence[Word], lengths: LineLengths,
                   style: CueStyle) -> list[tuple[int, int]]:
    n = len(tokens)
    best = [math.inf] * (n + 1)
    best[0] = 0.0
    back = [0] * (n + 1)
    for i in range(n):
        first_end = lengths.first_line_end(i)
        inside = 0.0
        for j in range(i + 1, n + 1):
            if j > i + 1:
                fits = j <= first_end or lengths.length(first_end, j) <= style.max_line_chars
                if not fits or tokens[j - 1].end - tokens[i].start > MAX_CUE_S:
                    break  # adding words only makes it worse; a lone word always fits
                inside += _inside_cost(tokens, j - 2)
            cost = (
                best[i]
                + _CUE_COST
                + inside
                + _end_cost(tokens, j)
                + _reading_cost(tokens, lengths, i, j, style.max_cps)
            )
            if cost < best[j]:
                best[j], back[j] = cost, i
    groups = []
    j = n
    while j > 0:
        groups.append((back[j], j))
        j = back[j]
    return groups[::-1]


def _inside_cost(tokens: Sequence[Word], k: int) -> float:
    kind, pause = _boundary(tokens, k)
    cost = _SENTENCE_INSIDE_COST if kind == "sentence" else 0.0
    return cost + max(0.0, pause - PAUSE_S) * _PAUSE_INSIDE_COST


def _end_cost(tokens: Sequence[Word], j: int) -> float:
    if j == len(tokens):
        return 0.0
    kind, pause = _boundary(tokens, j - 1)
    cost = _BREAK_COST[kind]
    return min(cost, _BREAK_COST["pause"]) if pause > PAUSE_S else cost


def _reading_cost(tokens: Sequence[Word], lengths: LineLengths, i: int, j: int,
                  max_cps: float) -> float:
    start = tokens[i].start
    limit = tokens[j].start if j < len(tokens) else math.inf
    available = min(limit, start + MAX_CUE_S) - start
    needed = max(MIN_CUE_S, lengths.length(i, j) / max_cps)
    return max(0.0, needed - available) * _READING_COST


def _time_cues(
    tokens: Sequence[Word], groups: Sequence[tuple[int, int]], media_end: float | None,
    style: CueStyle,
) -> list[Cue]:
    cues: list[Cue] = []
    previous_end = 0.0
    for number, (i, j) in enumerate(groups):
        pauses = [tokens[k + 1].start - tokens[k].end > PAUSE_S for k in range(i, j - 1)]
        text = wrap_lines([t.word for t in tokens[i:j]], style.max_line_chars, pauses)
        start = round(max(tokens[i].start, previous_end), 3)
        following = groups[number + 1][0] if number + 1 < len(groups) else None
        if following is not None:
            limit = tokens[following].start
        else:
            limit = math.inf if media_end is None else media_end
        wanted = max(tokens[j - 1].end, start + max(MIN_CUE_S, len(text) / style.max_cps))
        end = round(min(wanted, start + MAX_CUE_S, limit), 3)
        end = max(end, round(start + 0.001, 3))  # overlapping ASR words must not invert a cue
        cues.append(Cue(start, end, text))
        previous_end = end
    return cues
