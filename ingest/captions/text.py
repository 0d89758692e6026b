"""Text of a cue: joining recognised words and wrapping them into at most two lines."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

MAX_LINE_CHARS = 42
"""Longest line of a built cue (common broadcast and Netflix guideline for Latin scripts)."""

# Escapes, not literals: CJK full stops/commas, dashes and curly quotes look like ASCII ones.
CLOSERS = "\"'\u201d\u2019)\\]"
SENTENCE_END = re.compile(f"[.?!\u2026\u3002\uff1f\uff01][{CLOSERS}]*$")
CLAUSE_END = re.compile(f"[,;:\u3001\uff0c\uff1b\uff1a\u2013\u2014][{CLOSERS}]*$")
# Scripts written without spaces between words: Whisper's words there carry no space.
_NO_SPACE_SCRIPT = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
)


def needs_space(before: str, after: str) -> bool:
    return not (_NO_SPACE_SCRIPT.match(before[-1]) and _NO_SPACE_SCRIPT.match(after[0]))


def join_words(texts: Sequence[str]) -> str:
    out = texts[0] if texts else ""
    for before, after in itertools.pairwise(texts):
        out += (" " if needs_space(before, after) else "") + after
    return out


def wrap_lines(texts: Sequence[str]) -> str:
    """One line when it fits, else the most balanced two-line split (a comma helps)."""
    if len(join_words(texts)) <= MAX_LINE_CHARS or len(texts) < 2:
        return join_words(texts)

    def score(k: int) -> tuple[int, int, bool]:
        top, bottom = len(join_words(texts[:k])), len(join_words(texts[k:]))
        overflow = max(0, top - MAX_LINE_CHARS) + max(0, bottom - MAX_LINE_CHARS)
        punctuated = bool(CLAUSE_END.search(texts[k - 1]) or SENTENCE_END.search(texts[k - 1]))
        return overflow, abs(top - bottom) - (6 if punctuated else 0), top > bottom

    k = min(range(1, len(texts)), key=score)
    return join_words(texts[:k]) + "\n" + join_words(texts[k:])
