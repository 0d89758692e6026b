"""The caption editor's cue check (pure)."""

from __future__ import annotations

from ingest.captions.building import CHINESE, CueStyle
from ingest.captions.checks import CueIssue, IssueKind, check_cues, reading_speed
from ingest.captions.files import Cue


def kinds(cues: list[Cue]) -> list[tuple[int, IssueKind]]:
    return [(i.index, i.kind) for i in check_cues(cues)]


def test_good_cues_have_no_issue() -> None:
    assert check_cues([Cue(0.0, 2.0, "Hello and welcome"), Cue(2.0, 4.5, "to Lyon.")]) == []


def test_overlap_names_the_cue_it_overlaps() -> None:
    issues = check_cues([Cue(0.0, 3.0, "One"), Cue(1.0, 2.0, "Two"), Cue(2.5, 4.0, "Three")])
    assert [(i.index, i.kind) for i in issues] == [(1, IssueKind.OVERLAP),
                                                   (2, IssueKind.OVERLAP)]
    assert "cue 1 ends at 3.000 s" in issues[1].message  # cue 2 ended earlier: cue 1 counts


def test_reading_speed_counts_characters_per_second_without_line_breaks() -> None:
    assert reading_speed(Cue(0.0, 2.0, "abcde\nfghij")) == 5.0
    fast = Cue(0.0, 1.0, "Far too much text\nto read in one second")
    assert kinds([fast]) == [(0, IssueKind.READING_SPEED)]
    assert check_cues([fast], style=CueStyle(max_cps=60)) == []


def test_line_length_and_line_count() -> None:
    long_line = Cue(0.0, 6.0, "x" * 43)
    assert kinds([long_line]) == [(0, IssueKind.LINE_LENGTH)]
    assert check_cues([Cue(0.0, 6.0, "x" * 42)]) == []
    assert kinds([Cue(0.0, 6.0, "a\nb\nc")]) == [(0, IssueKind.TOO_MANY_LINES)]


def test_a_cue_ending_before_it_starts_is_a_timing_issue_not_a_speed_one() -> None:
    assert check_cues([Cue(3.0, 2.0, "Backwards")]) == [
        CueIssue(0, IssueKind.TIMING, "Ends at 2.000 s, not after its start 3.000 s.")]


def test_the_languages_rules_apply() -> None:
    cue = Cue(0.0, 2.0, "欢迎来到里昂的活动今天我们谈谈字幕和直播")
    assert [i.kind for i in check_cues([cue], style=CHINESE)] == [IssueKind.READING_SPEED,
                                                                  IssueKind.LINE_LENGTH]
    assert check_cues([cue]) == []
