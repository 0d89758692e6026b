"""Live captions, the pure part: final words of a rolling window, cues, WebVTT segments; and
the reader of the run's growing PCM files."""

from pathlib import Path

import numpy as np

from ingest.captions.files import Cue, Word
from ingest.live.captioning import SpeechReader
from ingest.live.captions import (
    MAX_PENDING_S,
    Heard,
    audio_offset,
    cues_of,
    is_silence,
    segment_cues,
    settle,
    trim_to_sound,
    webvtt_segment,
)

WORDS = [Word("Good", 0.5, 0.8), Word("morning,", 0.8, 1.3), Word("every", 3.0, 3.4),
         Word("one", 3.4, 3.9)]


def test_words_near_the_window_end_wait_for_the_next_window() -> None:
    heard = settle(WORDS, 0.0, 4.0)
    assert heard.final == WORDS[:2]
    assert heard.committed_to == 3.0  # the next window starts at "every", heard whole
    assert settle(WORDS, 0.0, 5.0).final == WORDS  # "one" ended 1.1 s before the end
    assert settle(WORDS, 0.0, 5.0).committed_to == 4.0  # the last second is heard again


def test_words_of_the_lead_were_final_already() -> None:
    heard = settle([Word("morning,", 1.6, 2.1), Word("every", 3.0, 3.4)], 2.0, 6.0)
    assert heard.final == [Word("every", 3.0, 3.4)]


def test_a_run_end_or_a_long_window_makes_the_words_final() -> None:
    assert settle(WORDS, 0.0, 4.0, force=True).final == WORDS
    assert settle(WORDS, 0.0, 4.0, force=True).committed_to == 4.0
    late = [Word("on", MAX_PENDING_S - 1.5, MAX_PENDING_S - 0.2)]
    assert settle(late, 0.0, MAX_PENDING_S) == Heard(late, MAX_PENDING_S - 0.2)


def test_silence_commits_all_but_the_last_second() -> None:
    assert settle([], 2.0, 6.0).committed_to == 5.0
    assert is_silence(np.zeros(16_000, dtype=np.int16), 16_000)
    tone = (3000 * np.sin(np.arange(16_000) / 5)).astype(np.int16)
    assert not is_silence(np.concatenate((np.zeros(8000, dtype=np.int16), tone[:1600])),
                          16_000)


def test_cues_stay_between_the_last_cue_and_the_committed_time() -> None:
    cues = cues_of(WORDS[:2], "en", committed_to=3.0, previous_end=0.6)
    assert cues == [Cue(0.6, 1.5, "Good morning,")]  # after the last cue
    clipped = cues_of(WORDS[:2], "en", committed_to=1.5, previous_end=0.0)
    assert clipped == [Cue(0.5, 1.5, "Good morning,")]


def test_a_segment_carries_every_cue_it_overlaps_with_the_run_map() -> None:
    cues = [Cue(-0.2, 1.0, "early"), Cue(1.9, 3.0, "across"), Cue(5.0, 6.0, "later")]
    assert segment_cues(cues, 0.0, 2.0) == [Cue(0.0, 1.0, "early"), Cue(1.9, 3.0, "across")]
    assert segment_cues(cues, 2.0, 4.0) == [Cue(1.9, 3.0, "across")]
    assert segment_cues(cues, 6.6, 8.0) == []  # nothing said: an empty segment
    assert webvtt_segment([Cue(1.9, 3.0, "across")], 127_920) == (
        "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:127920,LOCAL:00:00:00.000\n\n"
        "00:00:01.900 --> 00:00:03.000\nacross\n\n")
    assert webvtt_segment([], 126_000).startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:126000,")


def test_audio_offset_is_the_video_start_on_the_muxer_clock() -> None:
    assert audio_offset(126_000) == 0.0
    assert audio_offset(127_920) == 1920 / 90_000


def _pcm(values: list[int]) -> bytes:
    return np.array(values, dtype="<i2").tobytes()


def test_the_reader_follows_growing_files_and_drops_read_ones(tmp_path: Path) -> None:
    reader = SpeechReader(tmp_path)
    reader.poll()
    assert reader.heard_s == 0
    first = tmp_path / "speech-000000.pcm"
    first.write_bytes(_pcm([1, 2, 3])[:5])  # a sample cut in half
    reader.poll()
    assert reader.window(0, 1).tolist() == [1, 2]
    with first.open("ab") as f:
        f.write(_pcm([1, 2, 3, 4])[5:])
    (tmp_path / "speech-000001.pcm").write_bytes(_pcm([5, 6]))
    reader.poll()
    assert not first.exists()
    assert reader.window(0, 1).tolist() == [1, 2, 3, 4, 5, 6]
    assert reader.heard_s == 6 / 16_000
    reader.forget_before(4 / 16_000)
    assert reader.window(0, 1).tolist() == [5, 6]
    assert reader.window(5 / 16_000, 1).tolist() == [6]
    reader.close()
    assert not tmp_path.exists()


def test_a_word_starts_at_its_first_sound_not_in_the_silence_before_it() -> None:
    speech = (3000 * np.sin(np.arange(8000) / 5)).astype(np.int16)
    samples = np.concatenate((np.zeros(16_000, dtype=np.int16), speech))  # sound from 1.0 s
    words = [Word("Our", 0.0, 1.3), Word("next", 1.3, 1.5), Word("hush", 0.2, 0.6)]
    assert trim_to_sound(words, samples, 5.0 - 5.0, 16_000) == [
        Word("Our", 1.0, 1.3), Word("next", 1.3, 1.5), Word("hush", 0.2, 0.6)]
    shifted = trim_to_sound([Word("Our", 10.0, 11.3)], samples, 10.0, 16_000)
    assert shifted == [Word("Our", 11.0, 11.3)]  # samples begin at the window's start
