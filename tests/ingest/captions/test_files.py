"""Exact tests for caption parsing, serialising and cue building."""

from __future__ import annotations

import pytest

from api.errors import status_of
from ingest.captions.building import MAX_CPS, MAX_CUE_S, MAX_LINE_CHARS, build_cues
from ingest.captions.files import (
    CaptionError,
    Cue,
    Word,
    parse_captions,
    to_srt,
    to_webvtt,
    validate_cues,
)

LIMIT = 64 * 1024


def parse(text: str | bytes) -> list[Cue]:
    data = text.encode() if isinstance(text, str) else text
    return parse_captions(data, LIMIT)


def error_of(text: str | bytes, max_bytes: int = LIMIT) -> CaptionError:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(CaptionError) as caught:
        parse_captions(data, max_bytes)
    return caught.value


# --------------------------------------------------------------------------- parsing


def test_webvtt_is_reduced_to_plain_text() -> None:
    text = (
        "WEBVTT - a title\n\nNOTE a comment\n\n"
        "intro\n00:00:01.000 --> 00:00:02.500 align:start\n<i>Hello</i> &amp; <b>world</b>\n\n"
        "00:00:03.000 --> 00:00:04.000\n<v Bob>Second</v> <00:00:03.500>part\nline\n"
    )
    assert parse(text) == [
        Cue(1.0, 2.5, "Hello & world"),
        Cue(3.0, 4.0, "Second part\nline"),
    ]


def test_srt_with_bom_crlf_and_style_tags() -> None:
    text = (
        "\ufeff1\r\n00:00:01,000 --> 00:00:02,000\r\nHi <font color='red'>there</font>\r\n\r\n"
        "2\r\n00:00:02,000 --> 00:00:03,250\r\n{\\an8}x < y &amp; z\r\n"
    )
    # SRT has no escapes: "&amp;" is literal text there; "x < y" is text, not a tag.
    assert parse(text) == [Cue(1.0, 2.0, "Hi there"), Cue(2.0, 3.25, "x < y &amp; z")]


def test_cues_are_sorted_and_empty_ones_dropped() -> None:
    text = (
        "1\n00:00:05,000 --> 00:00:06,000\nlater\n\n"
        "2\n00:00:01,000 --> 00:00:02,000\n<i></i>\n\n"
        "3\n00:00:03,000 --> 00:00:04,000\nearlier\n"
    )
    assert parse(text) == [Cue(3.0, 4.0, "earlier"), Cue(5.0, 6.0, "later")]


def test_more_than_two_lines_are_reflowed() -> None:
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nthe first line\nof a cue\nwith three lines\n"
    assert parse(text) == [Cue(1.0, 4.0, "the first line of a cue with three lines")]


@pytest.mark.parametrize(
    ("data", "code", "status"),
    [
        (b"x" * 101, "caption_too_large", 413),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\ncaf\xe9\n", "caption_not_utf8", 415),
        ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhi\n".encode("utf-16"), "caption_not_utf8", 415),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "caption_binary", 415),
        (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nbell\x07\n", "caption_binary", 415),
        (b"", "caption_empty", 422),
        (b"\xef\xbb\xbf \r\n\n", "caption_empty", 422),
        (b"WEBVTT\n\nNOTE only a comment\n", "caption_empty", 422),
        (b"just some words\n", "caption_format_unknown", 415),
        (
            b"[Script Info]\nTitle: x\n\n[Events]\n"
            b"Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,Hi\n",
            "caption_ass_unsupported",
            415,
        ),
    ],
)
def test_bad_files_are_refused(data: bytes, code: str, status: int) -> None:
    error = error_of(data, max_bytes=100)
    assert (error.code, status_of(error)) == (code, status)
    assert error.message


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("WEBVTT\n\n-00:00:01.000 --> 00:00:02.000\nx\n", "caption_negative_time"),
        ("1\n-00:00:01,000 --> 00:00:02,000\nx\n", "caption_negative_time"),
        ("1\n00:00:01,000 --> -00:00:02,000\nx\n", "caption_negative_time"),
        ("WEBVTT\n\n00:00:03.000 --> 00:00:02.000\nx\n", "caption_bad_timing"),
        ("1\n00:00:03,000 --> 00:00:03,000\nx\n", "caption_bad_timing"),
        ("WEBVTT\n\n0:0:1.0 --> 00:00:03.000\nx\n", "caption_bad_timing"),
        ("WEBVTT\n\n00:00:01,000 --> 00:00:03.000\nx\n", "caption_bad_timing"),
        (
            "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nx\n\n00:00:02.000 --> 00:00:04.000\ny\n",
            "caption_overlapping_cues",
        ),
        (
            "1\n00:00:01,000 --> 00:00:03,000\nx\n\n2\n00:00:02,999 --> 00:00:04,000\ny\n",
            "caption_overlapping_cues",
        ),
        (
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<script>alert(1)</script>\n",
            "caption_markup_forbidden",
        ),
        (
            "1\n00:00:01,000 --> 00:00:02,000\n<img src=x onerror=alert(1)>\n",
            "caption_markup_forbidden",
        ),
        (
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n&lt;script&gt;alert(1)\n",
            "caption_markup_forbidden",
        ),
        ("1\n00:00:01,000 --> 00:00:02,000\n<script\n", "caption_markup_forbidden"),
        ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\na --> b\n", "caption_markup_forbidden"),
        ("1\n00:00:01,000 --> 00:00:02,000\na --> b\n", "caption_markup_forbidden"),
        (
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nno blank line\n"
            "00:00:02.000 --> 00:00:03.000\nnext\n",
            "caption_malformed",
        ),
        (
            "1\n00:00:01,000 --> 00:00:02,000\nx\n\n2\n00:00:03,000 -> 00:00:04,000\ny\n",
            "caption_malformed",
        ),
    ],
)
def test_bad_cues_are_refused(text: str, code: str) -> None:
    error = error_of(text)
    assert (error.code, status_of(error)) == (code, 422)


def test_validate_cues_checks_edited_tracks() -> None:
    validate_cues([Cue(0.0, 1.0, "a"), Cue(1.0, 2.0, "b")])  # touching cues are fine
    cases = [
        ([], "caption_empty"),
        ([Cue(0.0, 1.0, " ")], "caption_empty"),
        ([Cue(-0.5, 1.0, "a")], "caption_negative_time"),
        ([Cue(1.0, float("nan"), "a")], "caption_bad_timing"),
        ([Cue(0.0, 1.0, "a"), Cue(0.5, 2.0, "b")], "caption_overlapping_cues"),
        ([Cue(0.0, 1.0, "<b>a</b>")], "caption_markup_forbidden"),
    ]
    for cues, code in cases:
        with pytest.raises(CaptionError) as caught:
            validate_cues(cues)
        assert caught.value.code == code


# --------------------------------------------------------------------------- serialising

CUES = [
    Cue(1.0, 2.5, "a < b & c --> d\n<i>x</i>"),
    Cue(3723.4567, 3725.0, "{\\an8}top\n\n  bottom  "),
]


def test_to_webvtt_escapes_text() -> None:
    assert to_webvtt(CUES) == (
        "WEBVTT\n\n"
        "00:00:01.000 --> 00:00:02.500\na &lt; b &amp; c --&gt; d\n&lt;i&gt;x&lt;/i&gt;\n\n"
        "01:02:03.457 --> 01:02:05.000\n{\\an8}top\nbottom\n\n"
    )


def test_to_webvtt_header_lines() -> None:
    assert to_webvtt([], header=["X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000"]) == (
        "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n"
    )
    with pytest.raises(ValueError):
        to_webvtt([], header=["00:00:01.000 --> 00:00:02.000"])


def test_to_srt_neutralises_cue_syntax_invisibly() -> None:
    joiner = "\u2060"
    assert to_srt(CUES) == (
        f"1\n00:00:01,000 --> 00:00:02,500\na < b & c --{joiner}> d\n<{joiner}i>x<{joiner}/i>\n\n"
        f"2\n01:02:03,457 --> 01:02:05,000\n{{{joiner}\\an8}}top\nbottom\n\n"
    )


def test_round_trips() -> None:
    cues = [Cue(0.0, 1.5, "Tom & Jerry <3"), Cue(2.0, 3.001, "two\nlines")]
    assert parse(to_webvtt(cues)) == cues
    assert parse(to_srt([Cue(0.0, 1.5, "plain"), Cue(2.0, 3.0, "two\nlines")])) == [
        Cue(0.0, 1.5, "plain"),
        Cue(2.0, 3.0, "two\nlines"),
    ]


def test_serialisers_skip_cues_without_text() -> None:
    assert to_webvtt([Cue(0.0, 1.0, "\n \n")]) == "WEBVTT\n\n"
    assert (
        to_srt([Cue(0.0, 1.0, ""), Cue(1.0, 2.0, "b")]) == "1\n00:00:01,000 --> 00:00:02,000\nb\n\n"
    )


# --------------------------------------------------------------------------- cue building


def speak(text: str, start: float = 0.0, step: float = 0.3, pause_after: str = "") -> list[Word]:
    """Words of ``text`` every ``step`` seconds, each 0.25 s long, 2 s silence after a word."""
    words = []
    t = start
    for token in text.split():
        words.append(Word(" " + token, round(t, 3), round(t + 0.25, 3)))
        t += step + (2.0 if token == pause_after else 0.0)
    return words


def assert_well_formed(cues: list[Cue]) -> None:
    validate_cues(cues)
    for cue in cues:
        lines = cue.text.split("\n")
        assert len(lines) <= 2
        assert all(len(line) <= MAX_LINE_CHARS for line in lines), cue
        assert 0 < cue.end - cue.start <= MAX_CUE_S


def test_short_sentence_becomes_one_cue_held_for_reading() -> None:
    assert build_cues(speak("Hi there.")) == [Cue(0.0, 1.0, "Hi there.")]


def test_sentences_and_pauses_start_new_cues() -> None:
    words = speak(
        "Hello everyone, and welcome to the annual summit of the Podium community. "
        "Today we will talk about subtitles, speech recognition and how we build cues "
        "that are easy to read. Thank you.",
        pause_after="community.",
    )
    cues = build_cues(words)
    assert_well_formed(cues)
    assert cues[0] == Cue(
        0.0, 3.65, "Hello everyone, and welcome to the\nannual summit of the Podium community."
    )
    # 73 characters at 20 per second: on screen 3.65 s, past the last word's end at 3.55 s.
    assert cues[1].start == 5.6  # the second sentence waits for its first word
    assert "".join(c.text.replace("\n", " ") + " " for c in cues).split() == [
        w.word.strip() for w in words
    ]
    for cue in cues:
        assert len(cue.text) / (cue.end - cue.start) <= MAX_CPS + 1


def test_clause_break_preferred_over_filling_the_cue() -> None:
    words = speak(
        "When the keynote ends at noon we will open the doors to the hall, "
        "and lunch will be served on the terrace next to the river"
    )
    cues = build_cues(words)
    assert_well_formed(cues)
    assert cues[0].text.replace("\n", " ").endswith("hall,")


def test_fast_speech_extends_into_gaps_but_never_overlaps() -> None:
    words = [
        Word("Supercalifragilistic", 0.0, 0.4),
        Word("expialidocious!", 0.4, 0.8),
        *speak("The next sentence is long enough to need a cue of its own.", start=1.2),
    ]
    cues = build_cues(words)
    # 36 characters need 1.8 s at 20 characters per second; the next cue starts at 1.2 s.
    assert cues[0] == Cue(0.0, 1.2, "Supercalifragilistic expialidocious!")
    assert cues[1].start == 1.2


def test_media_end_caps_the_last_cue() -> None:
    assert build_cues(speak("Bye."), media_end=0.6) == [Cue(0.0, 0.6, "Bye.")]


def test_long_monologue_without_punctuation_respects_limits() -> None:
    words = speak(" ".join(["word"] * 200), step=0.2)
    cues = build_cues(words)
    assert_well_formed(cues)
    assert sum(len(c.text.split()) for c in cues) == 200


def test_overlapping_or_unsorted_asr_words_never_give_overlapping_cues() -> None:
    words = [
        Word("b.", 1.0, 1.1),
        Word("a.", 1.0, 3.0),
        Word("", 2.0, 2.5),
        Word("c", float("nan"), 1.0),
    ]
    cues = build_cues(words)
    validate_cues(cues)
    assert [c.text for c in cues] == ["b. a."]


def test_spaceless_scripts_are_joined_without_spaces() -> None:
    words = [Word("今日は", 0.0, 0.5), Word("晴れ", 0.5, 0.9), Word("です。", 0.9, 1.3)]
    assert build_cues(words) == [Cue(0.0, 1.3, "今日は晴れです。")]


def test_no_words_no_cues() -> None:
    assert build_cues([]) == []
