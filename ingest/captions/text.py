"""Text of a cue: joining recognised words and wrapping them into at most two lines.

Everything here is linear in the number of words: line lengths come from prefix sums
(``LineLengths``), never from joining the words again for each candidate break.
"""

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
_FIRST_NO_SPACE = "\u3040"
"""Below this code point no character belongs to those scripts (a fast path for most text)."""


def needs_space(before: str, after: str) -> bool:
    """Whether two words are written with a space between them: not when either side is a
    character of a script written without spaces ("2024" + "年" is "2024年")."""
    last, first = before[-1], after[0]
    if last < _FIRST_NO_SPACE and first < _FIRST_NO_SPACE:
        return True
    return not (_NO_SPACE_SCRIPT.match(last) or _NO_SPACE_SCRIPT.match(first))


def join_words(texts: Sequence[str]) -> str:
    parts = list(texts[:1])
    for before, after in itertools.pairwise(texts):
        if needs_space(before, after):
            parts.append(" ")
        parts.append(after)
    return "".join(parts)


class LineLengths:
    """Prefix sums of word lengths, so the length of any run of words on one line is O(1)."""

    def __init__(self, texts: Sequence[str], max_chars: int = MAX_LINE_CHARS) -> None:
        self.max_chars = max_chars
        self.sep = [0] + [int(needs_space(a, b)) for a, b in itertools.pairwise(texts)]
        self.prefix = [0]
        for text, sep in zip(texts, self.sep, strict=True):
            self.prefix.append(self.prefix[-1] + sep + len(text))

    def length(self, a: int, b: int) -> int:
        """Characters of words[a:b] joined on one line."""
        return self.prefix[b] - self.prefix[a] - self.sep[a]

    def first_line_end(self, a: int) -> int:
        """Greedy end of the first line from word a; greedy filling is optimal for 2 lines."""
        b = a + 1
        while b < len(self.sep) and self.length(a, b + 1) <= self.max_chars:
            b += 1
        return b


def wrap_lines(texts: Sequence[str], max_chars: int = MAX_LINE_CHARS,
               pause_after: Sequence[bool] = ()) -> str:
    """One line when it fits, else the most balanced two-line split (a comma or a pause
    after word k, ``pause_after[k]``, helps).

    Lengths are characters, whatever the script: a Chinese character counts one."""
    n = len(texts)
    if n < 2:
        return join_words(texts)
    lengths = LineLengths(texts, max_chars)
    if lengths.length(0, n) <= max_chars:
        return join_words(texts)

    # The first key is the overflow past max_chars, then the balance of the two lines
    # (a break after punctuation counts as a seventh of a line better: 6 characters of 42),
    # then a longer bottom line.
    bonus = max(2, round(max_chars / 7))
    best: tuple[int, int, bool] | None = None
    best_k = 1
    for k in range(1, n):
        top, bottom = lengths.length(0, k), lengths.length(k, n)
        overflow = max(0, top - max_chars) + max(0, bottom - max_chars)
        balance = abs(top - bottom)
        if best is not None and (overflow, balance - bonus) > best[:2]:
            continue  # cannot win even after punctuation: skip the regexes
        word = texts[k - 1]
        paused = k - 1 < len(pause_after) and pause_after[k - 1]
        if paused or CLAUSE_END.search(word) or SENTENCE_END.search(word):
            balance -= bonus
        key = (overflow, balance, top > bottom)
        if best is None or key < best:
            best, best_k = key, k
    return join_words(texts[:best_k]) + "\n" + join_words(texts[best_k:])
