"""Chinese script: Whisper writes simplified or traditional characters as it pleases; the
track's language tag decides which one the audience reads (OpenCC, a pure-Python port, offline).

`zh`, `zh-CN`, `zh-SG`, `zh-Hans` → simplified; `zh-TW` → traditional with Taiwan's character
forms, `zh-HK`/`zh-MO` → Hong Kong's, `zh-Hant` → traditional. Only characters change: OpenCC's
character and phrase tables never touch digits or numerals, so "2024年" stays "2024年" and
"二〇二四年" stays "二〇二四年" (numbers are written as Whisper heard them; nothing here or in
the recognizer normalises them).

Glossary terms keep the spelling the producer gave them. OpenCC's tables map a character to
its usual counterpart, which is wrong for some names: a simplified track would turn the given
name in "李乾" into "李干", a traditional one the surname in "余秋雨" into "餘". A term written
in the track's script (every character in GB2312 for simplified, Big5 for traditional,
Big5-HKSCS for Hong Kong) and two characters or more long is put back wherever its conversion
appears; a term written in the other script is converted like the rest ("张伟" reads "張偉" in
a `zh-TW` track).

Whisper often writes a name it does not know with other characters of the same sound (base
heard "李乾" as "李前" even with the name in its prompt): in Mandarin tracks, a run of characters
that sounds like a glossary term of two or more Chinese characters (same syllables and tones,
by pypinyin's readings, any reading of a character with several) is written as the term.

Punctuation is Chinese too: Whisper (base at least) often writes ASCII `,` `.` `?` `!` `;` `:`
after Chinese characters ("谢谢大家,我们下午再见"); after a Chinese character they become the
full-width marks (comma, full stop, question and exclamation marks, semicolon, colon). After a
digit or a Latin letter they stay ("1,200人", "3.5%").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from ingest.captions.files import Word
from ingest.languages import primary_subtag

_CHINESE = {"zh", "cmn", "yue"}
_TRADITIONAL_REGIONS = {"TW": "s2tw", "HK": "s2hk", "MO": "s2hk"}
_SCRIPT_CODEC = {"t2s": "gb2312", "s2t": "big5", "s2tw": "big5", "s2hk": "big5hkscs"}
"""A character set holding the characters of the script each conversion writes."""
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_MANDARIN = {"zh", "cmn"}
_FULL_WIDTH = {",": "\uff0c", ".": "\u3002", "?": "\uff1f", "!": "\uff01", ";": "\uff1b",
               ":": "\uff1a"}
_ASCII_AFTER_HAN = re.compile(r"(?<=[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])[,.?!;:](?![.\d])")
"""An ASCII mark right after a Chinese character (not the first dot of an ellipsis, nor a
decimal or thousands separator before a digit)."""


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


def convert_text(text: str, language: str, keep: Sequence[str] = ()) -> str:
    """``text`` in the script of ``language``; the glossary terms in ``keep`` that are written
    in that script stay as written."""
    config = conversion(language)
    if config is None or not text:
        return text
    converted = str(_converter(config).convert(text))
    for term, altered in _altered_terms(config, keep):
        converted = converted.replace(altered, term)
    if keep and primary_subtag(language) in _MANDARIN:
        converted = _sound_alikes(converted, [_in_script(config, term) for term in keep])
    return _ASCII_AFTER_HAN.sub(lambda m: _FULL_WIDTH[m.group()], converted)


def _altered_terms(config: str, terms: Sequence[str]) -> list[tuple[str, str]]:
    """(term, what OpenCC makes of it) for the terms in the script ``config`` writes that
    OpenCC would change, longest first (so a term inside a longer one does not split it)."""
    altered = []
    for term in terms:
        if len(term) < 2:
            continue  # one character is no name: "乾" would turn every 干 (dry, do) into 乾
        try:
            term.encode(_SCRIPT_CODEC[config])
        except UnicodeEncodeError:
            continue  # written in the other script (or with characters of neither): converted
        converted = str(_converter(config).convert(term))
        if converted != term:
            altered.append((term, converted))
    return sorted(altered, key=lambda pair: -len(pair[1]))


def _in_script(config: str, term: str) -> str:
    """``term`` as a track of ``config``'s script writes it (as given when it is in it)."""
    try:
        term.encode(_SCRIPT_CODEC[config])
    except UnicodeEncodeError:
        return str(_converter(config).convert(term))
    return term


@functools.lru_cache(maxsize=16384)
def _readings(character: str) -> frozenset[str]:
    """Mandarin readings of one character with their tones (`qian2`); none for a non-Han one."""
    if not _HAN.fullmatch(character):
        return frozenset()
    from pypinyin import Style, pinyin

    return frozenset(pinyin(character, style=Style.TONE3, heteronym=True,
                            neutral_tone_with_five=True)[0])


def _sound_alikes(text: str, terms: Sequence[str]) -> str:
    """``text`` with each run of characters that sounds like one of ``terms`` (two or more Han
    characters) written as that term; the length never changes. Longer terms go first."""
    chars = list(text)
    readings = [_readings(c) for c in chars]
    for term in sorted({t for t in terms if len(t) >= 2 and all(map(_HAN.fullmatch, t))},
                       key=len, reverse=True):
        wanted = [_readings(c) for c in term]
        size, i = len(term), 0
        while i <= len(chars) - size:
            if all(w & r for w, r in zip(wanted, readings[i:i + size], strict=True)):
                chars[i:i + size] = term
                readings[i:i + size] = wanted
                i += size
            else:
                i += 1
    return "".join(chars)


def convert_words(words: Sequence[Word], language: str, keep: Sequence[str] = ()) -> list[Word]:
    """Words in the script of ``language``, each keeping its timing.

    The words are converted together (OpenCC picks characters by phrase, and a phrase may span
    two of Whisper's pieces), then cut back at the same places; in the rare case a phrase
    changes length, word by word instead.
    """
    config = conversion(language)
    if config is None or not words:
        return list(words)
    whole = convert_text("".join(w.word for w in words), language, keep)
    if len(whole) != sum(len(w.word) for w in words):
        return [Word(convert_text(w.word, language, keep), w.start, w.end) for w in words]
    converted, at = [], 0
    for w in words:
        converted.append(Word(whole[at:at + len(w.word)], w.start, w.end))
        at += len(w.word)
    return converted
