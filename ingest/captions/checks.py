"""The cue check of the caption editor: what a reviewer should look at, not what is refused.

``check_cues`` is pure. It flags cues that overlap an earlier one (the API refuses such a
track when it is saved), cues shown too briefly for their text (reading speed, in characters
per second, the measure of the BBC and Netflix subtitle guidelines) and lines too long or too
many for the screen. The limits are those the captions built from speech recognition keep,
per language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ingest.captions.building import LATIN, CueStyle
from ingest.captions.files import MAX_LINES, Cue


class IssueKind(StrEnum):
    OVERLAP = "overlap"
    READING_SPEED = "reading_speed"
    LINE_LENGTH = "line_length"
    TOO_MANY_LINES = "too_many_lines"
    TIMING = "timing"


@dataclass(frozen=True)
class CueIssue:
    index: int
    """Position of the cue in the list checked (0-based)."""
    kind: IssueKind
    message: str


def reading_speed(cue: Cue) -> float:
    """Characters per second the cue asks of a reader (line breaks not counted)."""
    chars = len(cue.text.replace("\n", ""))
    duration = cue.end - cue.start
    return float("inf") if duration <= 0 else chars / duration


def check_cues(cues: Sequence[Cue], *, style: CueStyle = LATIN,
               max_lines: int = MAX_LINES) -> list[CueIssue]:
    """Every issue of every cue, in cue order, by ``style``'s line length and reading speed
    (those of the track's language: building.cue_style)."""
    max_cps, max_line_chars = style.max_cps, style.max_line_chars
    issues: list[CueIssue] = []
    latest_end, latest_index = float("-inf"), -1
    for i, cue in enumerate(cues):
        if cue.end <= cue.start:
            issues.append(CueIssue(i, IssueKind.TIMING, f"Ends at {cue.end:.3f} s, not after "
                                   f"its start {cue.start:.3f} s."))
        elif (cps := reading_speed(cue)) > max_cps:
            issues.append(CueIssue(i, IssueKind.READING_SPEED,
                                   f"{cps:.0f} characters per second; at most {max_cps:g} reads "
                                   "comfortably."))
        if cue.start < latest_end:
            issues.append(CueIssue(i, IssueKind.OVERLAP,
                                   f"Starts at {cue.start:.3f} s, before cue {latest_index + 1} "
                                   f"ends at {latest_end:.3f} s."))
        if cue.end > latest_end:
            latest_end, latest_index = cue.end, i
        lines = cue.text.split("\n")
        if len(lines) > max_lines:
            issues.append(CueIssue(i, IssueKind.TOO_MANY_LINES,
                                   f"{len(lines)} lines; at most {max_lines} fit the screen."))
        longest = max(len(line) for line in lines)
        if longest > max_line_chars:
            issues.append(CueIssue(i, IssueKind.LINE_LENGTH,
                                   f"A line of {longest} characters; at most {max_line_chars}."))
    return issues
