"""Caption input built to hurt: huge cues, many words, timestamps that overflow.

Parsing and wrapping must stay linear and bounded, and every extreme value must end as a
CaptionError with a code (a 4xx through the API), never an OverflowError (a 500).
"""

from __future__ import annotations

import contextlib
import math
import random
import time

import pytest

from api.errors import status_of
from ingest.captions.files import (
    MAX_CUE_CHARS,
    MAX_CUE_SOURCE_LINES,
    MAX_TIME_S,
    CaptionError,
    Cue,
    parse_captions,
)
from ingest.captions.store import edited_cues
from ingest.captions.text import (
    CLAUSE_END,
    MAX_LINE_CHARS,
    SENTENCE_END,
    join_words,
    wrap_lines,
)

LIMIT = 2 * 1024 * 1024
HOSTILE_BYTES = 32 * 1024
# The old wrapping joined every word again for each candidate break (quadratic): a 32 KB cue
# of short words took about a minute. Linear code does it in milliseconds; the bound is generous
# for a loaded machine.
BOUND_S = 1.5
WORDS = ("a", "to", "of", "we", "and", "the", "yes,")


def short_words(count: int, seed: int = 6) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(WORDS) for _ in range(count)]


def srt_cue(number: int, start_s: int, text: str) -> str:
    def stamp(s: int) -> str:
        return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d},000"
    return f"{number}\n{stamp(start_s)} --> {stamp(start_s)[:-4]},900\n{text}\n\n"


def refusal(data: bytes) -> CaptionError:
    with pytest.raises(CaptionError) as caught:
        parse_captions(data, LIMIT)
    return caught.value


def timed(fn: object, *args: object) -> float:
    started = time.perf_counter()
    with contextlib.suppress(CaptionError):
        fn(*args)  # type: ignore[operator]
    return time.perf_counter() - started


# --------------------------------------------------------------------------- size and time


@pytest.mark.parametrize("separator", ["\n", " "])
def test_a_32_kb_cue_of_short_words_is_refused_at_once(separator: str) -> None:
    text = separator.join(short_words(HOSTILE_BYTES // 3))[:HOSTILE_BYTES]
    data = srt_cue(1, 1, text).encode()
    assert len(data) > HOSTILE_BYTES - 100
    elapsed = timed(parse_captions, data, LIMIT)
    assert elapsed < BOUND_S, f"{elapsed:.2f} s for one 32 KB cue"
    error = refusal(data)
    assert error.code == "caption_cue_too_long"
    assert status_of(error) == 422


def test_a_32_kb_file_of_cues_at_the_limits_parses_quickly() -> None:
    """Every cue as large as allowed (8 lines, close to 1000 characters) still parses fast,
    and each is reflowed into two lines."""
    line = " ".join(short_words(40))[:120]
    text = "\n".join([line] * MAX_CUE_SOURCE_LINES)
    assert len(text) <= MAX_CUE_CHARS
    blocks, size = [], 0
    while size < HOSTILE_BYTES:
        block = srt_cue(len(blocks) + 1, len(blocks) * 2, text)
        blocks.append(block)
        size += len(block)
    data = "".join(blocks).encode()
    started = time.perf_counter()
    cues = parse_captions(data, LIMIT)
    elapsed = time.perf_counter() - started
    assert elapsed < BOUND_S, f"{elapsed:.2f} s for {len(data)} bytes"
    assert len(cues) == len(blocks)
    assert all(cue.text.count("\n") == 1 for cue in cues)


def test_wrapping_is_linear_in_the_number_of_words() -> None:
    words = short_words(12_000)
    started = time.perf_counter()
    wrapped = wrap_lines(words)
    elapsed = time.perf_counter() - started
    assert elapsed < BOUND_S, f"{elapsed:.2f} s to wrap {len(words)} words"
    top, bottom = wrapped.split("\n")
    assert abs(len(top) - len(bottom)) <= 8  # still the most balanced split


def reference_wrap(texts: list[str]) -> str:
    """The former quadratic wrap_lines, kept as the oracle of the linear one."""
    if len(join_words(texts)) <= MAX_LINE_CHARS or len(texts) < 2:
        return join_words(texts)

    def score(k: int) -> tuple[int, int, bool]:
        top, bottom = len(join_words(texts[:k])), len(join_words(texts[k:]))
        overflow = max(0, top - MAX_LINE_CHARS) + max(0, bottom - MAX_LINE_CHARS)
        punctuated = bool(CLAUSE_END.search(texts[k - 1]) or SENTENCE_END.search(texts[k - 1]))
        return overflow, abs(top - bottom) - (6 if punctuated else 0), top > bottom

    k = min(range(1, len(texts)), key=score)
    return join_words(texts[:k]) + "\n" + join_words(texts[k:])


def test_wrapping_keeps_its_choices() -> None:
    """The linear rewrite breaks lines exactly where the former code did."""
    rng = random.Random(3)
    vocabulary = [*WORDS, "delighted", "welcome.", "society;", "\u4f1a\u8bae", "\u3002",
                  "\u201cquoted\u201d", "x" * 50]
    for _ in range(2000):
        words = [rng.choice(vocabulary) for _ in range(rng.randint(1, 30))]
        assert wrap_lines(words) == reference_wrap(words), words


def test_too_many_lines_in_one_cue() -> None:
    text = "\n".join(["word"] * (MAX_CUE_SOURCE_LINES + 1))
    assert refusal(srt_cue(1, 1, text).encode()).code == "caption_cue_too_long"
    fits = "\n".join(["word"] * MAX_CUE_SOURCE_LINES)
    assert parse_captions(srt_cue(1, 1, fits).encode(), LIMIT)[0].text == " ".join(
        ["word"] * MAX_CUE_SOURCE_LINES)


# --------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize("hours", ["99999999999", "999999999", "9999", "101"])
def test_srt_hours_beyond_the_limit(hours: str) -> None:
    data = f"1\n{hours}:00:00,000 --> {hours}:00:01,000\nhi\n\n".encode()
    error = refusal(data)
    assert error.code == "caption_time_too_large", error
    assert status_of(error) == 422


@pytest.mark.parametrize("hours", ["99999999999", "9999999999", "9999", "101"])
def test_webvtt_hours_beyond_the_limit(hours: str) -> None:
    data = f"WEBVTT\n\n{hours}:00:00.000 --> {hours}:00:01.000\nhi\n\n".encode()
    error = refusal(data)
    assert error.code in {"caption_time_too_large", "caption_malformed"}, error
    assert status_of(error) == 422


def test_hour_digits_beyond_any_integer() -> None:
    for data in (f"1\n{'9' * 400}:00:00,000 --> {'9' * 400}:00:01,000\nhi\n\n",
                 f"WEBVTT\n\n{'9' * 400}:00:00.000 --> {'9' * 400}:00:01.000\nhi\n\n"):
        assert status_of(refusal(data.encode())) == 422


def test_the_last_allowed_time() -> None:
    cues = parse_captions(b"1\n99:59:58,000 --> 99:59:59,999\nlate\n\n", LIMIT)
    assert cues == [Cue(359998.0, 359999.999, "late")]
    assert cues[0].end <= MAX_TIME_S


@pytest.mark.parametrize(("start", "end", "code"), [
    (1e306, 1e306 + 1, "caption_time_too_large"),
    (0.0, 1e306, "caption_time_too_large"),
    (0.0, 1e20, "caption_time_too_large"),
    (0.0, MAX_TIME_S + 0.5, "caption_time_too_large"),
    (math.nan, 1.0, "caption_bad_timing"),
    (0.0, math.inf, "caption_bad_timing"),
    (-math.inf, 1.0, "caption_bad_timing"),
    (-1.0, 1.0, "caption_negative_time"),
    (-1e306, 1.0, "caption_negative_time"),
])
def test_edited_times_out_of_range(start: float, end: float, code: str) -> None:
    with pytest.raises(CaptionError) as caught:
        edited_cues([Cue(start, end, "text")], max_cues=10)
    assert caught.value.code == code
    assert status_of(caught.value) == 422
