"""Chinese script: Whisper writes simplified or traditional characters as it pleases; the
track's language tag decides which one the audience reads (OpenCC, a pure-Python port, offline).

`zh`, `zh-CN`, `zh-SG`, `zh-Hans` → simplified; `zh-TW` → traditional with Taiwan's character
forms, `zh-HK`/`zh-MO` → Hong Kong's, `zh-Hant` → traditional. Only characters change: OpenCC's
character and phrase tables never touch digits or numerals, so "2024年" stays "2024年" and
"二〇二四年" stays "二〇二四年" (numbers are written as Whisper heard them; nothing here or in
the recognizer normalises them).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from ingest.captions.files import Word
from ingest.languages import primary_subtag

_CHINESE = {"zh", "cmn", "yue"}
_TRADITIONAL_REGIONS = {"TW": "s2tw", "HK": "s2hk", "MO": "s2hk"}


def conversion(language: str) -> str | None:
    """The OpenCC configuration that writes ``language``'s script, None when not Chinese."""
    if primary_subtag(language) not in _CHINESE:
        return None
    subtags = language.replace("_", "-").split("-")[1:]
    scripts = {s.title() for s in subtags if len(s) == 4}
    regions = [s.upper() for s in subtags if len(s) == 2]
    region = regions[0] if regions else None
    if "Hans" in scripts:
        return "t2s"
    if "Hant" in scripts or region in _TRADITIONAL_REGIONS or primary_subtag(language) == "yue":
        return _TRADITIONAL_REGIONS.get(region or "", "s2hk" if primary_subtag(language) == "yue"
                                        else "s2t")
    return "t2s"


@functools.lru_cache(maxsize=8)
def _converter(config: str) -> Any:
    import opencc

    return opencc.OpenCC(config)


def convert_text(text: str, language: str) -> str:
    config = conversion(language)
    return text if config is None or not text else str(_converter(config).convert(text))


def convert_words(words: Sequence[Word], language: str) -> list[Word]:
    """Words in the script of ``language``, each keeping its timing.

    The words are converted together (OpenCC picks characters by phrase, and a phrase may span
    two of Whisper's pieces), then cut back at the same places; in the rare case a phrase
    changes length, word by word instead.
    """
    config = conversion(language)
    if config is None or not words:
        return list(words)
    whole = convert_text("".join(w.word for w in words), language)
    if len(whole) != sum(len(w.word) for w in words):
        return [Word(convert_text(w.word, language), w.start, w.end) for w in words]
    converted, at = [], 0
    for w in words:
        converted.append(Word(whole[at:at + len(w.word)], w.start, w.end))
        at += len(w.word)
    return converted
