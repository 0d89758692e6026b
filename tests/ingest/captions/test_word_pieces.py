"""Whisper's word pieces joined into words as they are written (no model needed)."""

from __future__ import annotations

from types import SimpleNamespace

from ingest.captions import asr
from ingest.captions.building import build_cues
from ingest.captions.files import Word
from ingest.captions.text import join_words


def segment(*pieces: tuple[str, float, float]) -> SimpleNamespace:
    """A segment shaped like faster-whisper's: words with their raw text (leading space)."""
    return SimpleNamespace(words=[SimpleNamespace(word=w, start=s, end=e) for w, s, e in pieces])


def test_a_piece_without_a_leading_space_continues_the_word() -> None:
    # As tiny.en answers for Sense and Sensibility: " ill" "-disposed", " cold" "-hearted".
    words = asr._words(segment((" She", 0.0, 0.2), (" was", 0.2, 0.4), (" ill", 0.4, 0.6),
                               ("-disposed", 0.6, 1.1), (" and", 1.1, 1.3), (" cold", 1.3, 1.6),
                               ("-hearted.", 1.6, 2.0)), offset=10.0)
    assert [w.word for w in words] == ["She", "was", "ill-disposed", "and", "cold-hearted."]
    assert words[2] == Word("ill-disposed", 10.4, 11.1)
    cues = build_cues(words)
    assert [c.text for c in cues] == ["She was ill-disposed and cold-hearted."]


def test_pieces_of_spaceless_scripts_keep_their_own_timings() -> None:
    words = asr._words(segment((" 我们", 0.0, 0.4), ("在", 0.4, 0.5), ("2024", 0.5, 1.0),
                               ("年", 1.0, 1.2), ("见面。", 1.2, 1.8)), offset=0.0)
    assert [w.word for w in words] == ["我们", "在", "2024", "年", "见面。"]
    assert join_words([w.word for w in words]) == "我们在2024年见面。"  # no invented spaces


def test_mixed_latin_in_chinese_is_not_spaced_out() -> None:
    assert join_words(["我们用", "Python", "写"]) == "我们用Python写"
    assert join_words(["Open", "source"]) == "Open source"
