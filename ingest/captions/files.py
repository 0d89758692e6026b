"""Caption model: strict parsing of uploaded SRT/WebVTT and safe serialisers.

Cue text in this module is always plain text: at most a line break, never markup. Uploaded
files are reduced to that (benign style tags such as ``<i>`` are dropped, anything else that
looks like markup is refused) and the serialisers escape on the way out, so neither a user's
file nor a transcript can inject cue syntax into what players read.
"""

from __future__ import annotations

import codecs
import html
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import srt
import webvtt
from pydantic.dataclasses import dataclass as pydantic_dataclass
from webvtt.errors import MalformedCaptionError, MalformedFileError
from webvtt.vtt import WebVTTCueBlock

from ingest.captions.text import wrap_lines
from ingest.errors import InvalidInput

MAX_LINES = 2
"""Lines of one cue, in uploaded files and in built cues alike."""
MAX_CUE_CHARS = 1000
"""Most characters one cue of an uploaded file or an edit may hold (markup included)."""
MAX_CUE_SOURCE_LINES = 8
"""Most lines one cue of an uploaded file may hold; they are reflowed into MAX_LINES."""
MAX_TIME_S = 100 * 3600.0
"""Latest time a cue may start or end: far beyond any video message, and every time below it
has an exact millisecond and an HH:MM:SS stamp."""

@dataclass(frozen=True)
class Word:
    """One recognised word and where it is spoken, in seconds from the start of the media."""

    word: str
    start: float
    end: float


@pydantic_dataclass(frozen=True)
class Cue:
    """One caption on screen; ``text`` is plain text with at most one ``\\n``.

    The one cue type: parsed files, built cues, stored tracks (`track.json`) and the API's
    review edits all hold it. Its rules (times, overlaps, text) are ``validate_cues``'s.
    """

    start: float
    end: float
    text: str


class CaptionError(InvalidInput):
    """Caption input we refuse (a file, an edit); ``code`` says what is wrong with it."""

    code = "caption_invalid"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


Format = Literal["vtt", "srt"]

# --------------------------------------------------------------------------- parsing

# UTF-32-LE's BOM begins with UTF-16-LE's, so it must be tested first.
_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
# C0 controls except tab, LF and CR, plus DEL and C1: never in a caption, always in binaries.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_WEBVTT_SIGNATURE = re.compile(r"WEBVTT(?:[ \t\r\n]|\Z)")
_SRT_START = re.compile(r"(?:\d+[ \t]*\r?\n)?[^\r\n]*-->")
# ASS/SSA files open with a [Script Info] section (some tools start at [V4+ Styles]/[Events]).
_ASS_SECTION = re.compile(r"\[(?:script info|v4\+? styles|events)\]", re.I)
_NEGATIVE_TIME = re.compile(r"(?:^|-->)\s*-\s*\d")
_TIMING_LIKE = re.compile(r"^\s*-?[\d:.,]+\s*-->")

# A tag starts as in HTML: "<" then a letter, "/", "!" or "?"; a digit too for WebVTT's
# timestamp tags. So "x < y" stays text, while "<script>" and "<!--" are markup.
_TAG = re.compile(r"<(?=[A-Za-z0-9/!?])[^<>]*>")
_TAG_OPENER = re.compile(r"<(?=[A-Za-z/!?])")
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")
_TIMESTAMP_TAG = re.compile(r"<\d[\d:.]*>")
# ASS override blocks such as {\an8} that many SRT files carry; players honour them.
_ASS_OVERRIDE = re.compile(r"\{\\[^{}]*\}")
_STYLE_TAGS = frozenset({"b", "i", "u", "s", "c", "v", "lang", "ruby", "rt", "font"})
"""WebVTT cue spans and the de-facto SRT style tags: dropped, their text kept."""


@dataclass(frozen=True)
class _RawCue:
    start: float
    end: float
    text: str


def parse_captions(data: bytes, max_bytes: int) -> list[Cue]:
    """Parse an uploaded SRT or WebVTT file into plain-text cues sorted by time.

    Raises CaptionError with a specific code for anything that is not a clean caption file.
    Cue settings, identifiers, comments and styles are dropped on purpose.
    """
    text = _decode(data, max_bytes)
    fmt = detect_format(text)
    raw = _parse_vtt(text) if fmt == "vtt" else _parse_srt(text)
    cues = [
        Cue(r.start, r.end, plain)
        for n, r in enumerate(raw, start=1)
        if (plain := _plain_text(r.text, fmt, n))
    ]
    cues.sort(key=lambda cue: (cue.start, cue.end))
    validate_cues(cues)
    return cues


def _decode(data: bytes, max_bytes: int) -> str:
    if len(data) > max_bytes:
        raise CaptionError(
            "caption_too_large", f"caption file is {len(data)} bytes; the limit is {max_bytes}"
        )
    for bom, name in _OTHER_BOMS:
        if data.startswith(bom):
            raise CaptionError("caption_not_utf8", f"caption file is {name}; save it as UTF-8")
    if b"\x00" in data:
        raise CaptionError("caption_binary", "caption file contains NUL bytes: not a text file")
    try:
        text = data.decode("utf-8-sig")  # strips one leading BOM
    except UnicodeDecodeError as exc:
        raise CaptionError(
            "caption_not_utf8", f"caption file is not valid UTF-8 (byte offset {exc.start})"
        ) from exc
    control = _CONTROL.search(text)
    if control:
        raise CaptionError(
            "caption_binary",
            f"caption file contains control character U+{ord(control.group()):04X}",
        )
    if not text.strip():
        raise CaptionError("caption_empty", "caption file is empty")
    return text


def detect_format(text: str) -> Format:
    """Tell WebVTT from SRT by their first lines; refuse ASS/SSA and anything else."""
    head = text.lstrip()
    if _ASS_SECTION.match(head):
        raise CaptionError(
            "caption_ass_unsupported", "ASS/SSA subtitles are not supported; upload SRT or WebVTT"
        )
    if _WEBVTT_SIGNATURE.match(head):
        return "vtt"
    if _SRT_START.match(head):
        return "srt"
    raise CaptionError(
        "caption_format_unknown", "caption file is neither WebVTT (WEBVTT header) nor SRT"
    )


def _parse_vtt(text: str) -> list[_RawCue]:
    try:
        document = webvtt.WebVTT.from_string(text.lstrip(), strict=True)
    except (MalformedFileError, MalformedCaptionError) as exc:
        raise _diagnose(text, "vtt", str(exc)) from exc
    except OverflowError as exc:
        raise _time_too_large() from exc
    return [
        _RawCue(
            caption.start_time.in_milliseconds() / 1000,
            caption.end_time.in_milliseconds() / 1000,
            caption.raw_text,
        )
        for caption in document.captions
    ]


def _parse_srt(text: str) -> list[_RawCue]:
    try:
        # ignore_errors=False (the default) makes srt raise on any block it cannot read.
        subtitles = list(srt.parse(text))
    except (srt.SRTParseError, ValueError) as exc:
        raise _diagnose(text, "srt", str(exc)) from exc
    except OverflowError as exc:  # hours beyond what a timedelta holds
        raise _time_too_large() from exc
    return [
        _RawCue(sub.start.total_seconds(), sub.end.total_seconds(), sub.content)
        for sub in subtitles
    ]


def _time_too_large(where: str = "a cue") -> CaptionError:
    return CaptionError("caption_time_too_large",
                        f"{where} has a time beyond {MAX_TIME_S / 3600:.0f} hours")


def _diagnose(text: str, fmt: Format, detail: str) -> CaptionError:
    """Turn a parser failure into the most specific code, found on the culprit line."""
    for number, line in enumerate(text.splitlines(), start=1):
        if "-->" not in line:
            continue
        if _NEGATIVE_TIME.search(line):
            return CaptionError("caption_negative_time", f"line {number}: negative time {line!r}")
        if not _TIMING_LIKE.match(line):
            return CaptionError(
                "caption_markup_forbidden", f"line {number}: cue text must not contain '-->'"
            )
        if not _is_valid_timing(line, fmt):
            return CaptionError("caption_bad_timing", f"line {number}: bad cue timing {line!r}")
    return CaptionError("caption_malformed", f"caption file is malformed: {detail[:200]}")


def _is_valid_timing(line: str, fmt: Format) -> bool:
    if fmt == "vtt":
        return WebVTTCueBlock.is_valid([line], strict=True)
    left, _, right = line.partition("-->")
    right_ts = right.split()[0] if right.split() else ""
    return all(srt.TS_REGEX.match(part) for part in (left.strip(), right_ts))


def _plain_text(raw: str, fmt: Format, number: int) -> str:
    """Reduce cue text to plain text, or refuse it if it carries markup we do not allow."""
    check_cue_size(raw, f"cue {number}", MAX_CUE_SOURCE_LINES)
    for match in _TAG.finditer(raw):
        tag = match.group()
        name = _TAG_NAME.match(tag)
        benign = _TIMESTAMP_TAG.fullmatch(tag) or (name and name.group(1).lower() in _STYLE_TAGS)
        if not benign:
            raise CaptionError(
                "caption_markup_forbidden", f"cue {number} contains markup {tag[:40]!r}"
            )
    text = _TAG.sub("", raw)
    # WebVTT escapes &, < and >; SRT has no escapes, its text is literal (minus {\an8} codes).
    text = html.unescape(text) if fmt == "vtt" else _ASS_OVERRIDE.sub("", text)
    text = _CONTROL.sub("", text)
    _check_text(text, f"cue {number}")
    return _normalise_lines(text)


def check_cue_size(text: str, where: str, max_lines: int) -> None:
    """Refuse a cue holding more than MAX_CUE_CHARS characters or ``max_lines`` lines, before
    any work whose cost grows with its text."""
    if len(text) > MAX_CUE_CHARS:
        raise CaptionError("caption_cue_too_long",
                           f"{where} holds {len(text)} characters; the limit is {MAX_CUE_CHARS}")
    lines = text.count("\n") + 1
    if lines > max_lines:
        raise CaptionError("caption_cue_too_long",
                           f"{where} holds {lines} lines; the limit is {max_lines}")


def _check_text(text: str, where: str) -> None:
    if "-->" in text:
        raise CaptionError("caption_markup_forbidden", f"{where}: text must not contain '-->'")
    if _TAG_OPENER.search(text):
        raise CaptionError("caption_markup_forbidden", f"{where}: text looks like markup")


def _normalise_lines(text: str) -> str:
    """Collapse whitespace, drop empty lines, reflow into two lines when there are more."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) <= MAX_LINES:
        return "\n".join(lines)
    return wrap_lines(" ".join(lines).split(" "))


def validate_cues(cues: Sequence[Cue]) -> None:
    """Check a track is showable: sorted, positive durations, no overlaps, plain text.

    Used on parsed uploads and meant for cues edited through the API too.
    """
    if not cues:
        raise CaptionError("caption_empty", "caption track has no cues")
    previous: Cue | None = None
    for number, cue in enumerate(cues, start=1):
        _check_timing(cue, number)
        if not cue.text.strip():
            raise CaptionError("caption_empty", f"cue {number} has no text")
        _check_text(cue.text, f"cue {number}")
        if previous is not None and _ms(cue.start) < _ms(previous.end):
            raise CaptionError(
                "caption_overlapping_cues",
                f"cue {number} starts at {_stamp(cue.start)}, "
                f"before cue {number - 1} ends at {_stamp(previous.end)}",
            )
        previous = cue


def _check_timing(cue: Cue, number: int) -> None:
    if not (math.isfinite(cue.start) and math.isfinite(cue.end)):
        raise CaptionError("caption_bad_timing", f"cue {number} has a time that is not finite")
    if cue.start < 0 or cue.end < 0:
        raise CaptionError("caption_negative_time", f"cue {number} has a negative time")
    if cue.start > MAX_TIME_S or cue.end > MAX_TIME_S:
        raise _time_too_large(f"cue {number}")
    if _ms(cue.end) <= _ms(cue.start):
        raise CaptionError(
            "caption_bad_timing",
            f"cue {number} ends at {_stamp(cue.end)}, not after its start {_stamp(cue.start)}",
        )


# --------------------------------------------------------------------------- serialising


def to_webvtt(cues: Iterable[Cue], *, header: Sequence[str] = ()) -> str:
    """Serialise cues as WebVTT, escaping text; ``header`` adds metadata lines after WEBVTT."""
    for line in header:
        if not line or "\n" in line or "\r" in line or "-->" in line:
            raise ValueError(f"bad WebVTT header line {line!r}")
    # Every block ends with a blank line, the file too: readers that concatenate HLS
    # segments (ffmpeg's hls demuxer) would otherwise read the next WEBVTT header as cue text.
    parts = ["\n".join(("WEBVTT", *header)) + "\n\n"]
    for cue in cues:
        lines = [_vtt_escape(line) for line in _text_lines(cue.text)]
        if lines:
            timing = f"{_stamp(cue.start)} --> {_stamp(cue.end)}"
            parts.append("\n".join((timing, *lines)) + "\n\n")
    return "".join(parts)


def to_srt(cues: Iterable[Cue]) -> str:
    """Serialise cues as SubRip, numbering from 1 and neutralising cue syntax in text."""
    blocks: list[str] = []
    for cue in cues:
        lines = [_srt_neutralise(line) for line in _text_lines(cue.text)]
        if lines:
            timing = f"{_stamp(cue.start, ',')} --> {_stamp(cue.end, ',')}"
            blocks.append("\n".join((str(len(blocks) + 1), timing, *lines)) + "\n\n")
    return "".join(blocks)


def _text_lines(text: str) -> list[str]:
    # An empty line would end the cue block, so it never reaches the output.
    return [line.strip() for line in re.split(r"\r\n|\r|\n", text) if line.strip()]


def _vtt_escape(line: str) -> str:
    # Escaping ">" also breaks every "-->", so text can never read as a timing line.
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_WORD_JOINER = "\u2060"


def _srt_neutralise(line: str) -> str:
    """SRT has no escapes: an invisible U+2060 WORD JOINER breaks "-->", tags and ASS overrides.

    Players (ffmpeg, VLC, browsers' converters) honour <i>, <font> and {\\an8} in SRT, and a
    line with "-->" may start a cue; the joiner leaves the visible text unchanged.
    """
    line = line.replace("-->", f"--{_WORD_JOINER}>")
    line = _TAG_OPENER.sub(f"<{_WORD_JOINER}", line)
    return line.replace("{\\", f"{{{_WORD_JOINER}\\")


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _stamp(seconds: float, separator: str = ".") -> str:
    """Format seconds as HH:MM:SS.mmm (WebVTT) or HH:MM:SS,mmm (SRT)."""
    total = _ms(seconds)
    if total < 0:
        raise ValueError(f"negative caption time {seconds}")
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"
