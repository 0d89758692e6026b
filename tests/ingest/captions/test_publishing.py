"""Exact tests of the pure parts of captions publishing: subtitle tracks, names, PTS, keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.assets.models import Asset, CaptionSource, CaptionStatus, CaptionTrack
from ingest.captions.files import CaptionError, Cue
from ingest.captions.publishing import subtitle_tracks, track_name
from ingest.captions.store import InvalidGlossary, clean_glossary, edited_cues
from ingest.errors import InvalidMedia
from ingest.hls.playlists import SubtitleTrack
from ingest.hls.publishing import parse_start_pts
from ingest.media.commands import start_pts_command
from ingest.storage import keys

ID = "as-0123456789abcdef"


def asset_with(*tracks: tuple[str, CaptionStatus], language: str = "en-US") -> Asset:
    return Asset(id=ID, language=language, captions=[
        CaptionTrack(language=lang, source=CaptionSource.ASR, status=status)
        for lang, status in tracks])


def test_subtitle_tracks_list_ready_ones_and_mark_the_spoken_language() -> None:
    asset = asset_with(("de", CaptionStatus.READY), ("en", CaptionStatus.READY),
                       ("fr", CaptionStatus.ERRORED), ("it", CaptionStatus.PREPARING),
                       ("nl", CaptionStatus.PREPARING))
    tracks = subtitle_tracks(asset, published=lambda lang: lang == "nl")
    assert tracks == [
        SubtitleTrack("subs-de/index.m3u8", "de", "Deutsch"),
        SubtitleTrack("subs-en/index.m3u8", "en", "English", default=True),  # en-US spoken
        SubtitleTrack("subs-nl/index.m3u8", "nl", "Nederlands"),  # being redone, still there
    ]
    exact = asset_with(("en", CaptionStatus.READY), ("en-US", CaptionStatus.READY))
    assert [t.default for t in subtitle_tracks(exact, lambda _: False)] == [False, True]
    assert subtitle_tracks(asset_with(), lambda _: True) == []


def test_track_names() -> None:
    assert track_name("en") == "English"
    assert track_name("pt-BR") == "Português (pt-BR)"
    assert track_name("tlh") == "tlh"


def test_caption_keys() -> None:
    assert keys.caption_track(ID, "pt-BR") == f"assets/{ID}/captions/pt-BR/track.json"
    assert keys.caption_track_prefix(ID, "en") == f"assets/{ID}/captions/en/"
    assert keys.transcript(ID) == f"assets/{ID}/captions/transcript.json"
    assert keys.subtitle_rendition("en") == "subs-en"
    assert keys.glossary() == "config/glossary.json"
    for bad in ("../en", "en/x", ""):
        with pytest.raises(ValueError):
            keys.caption_track(ID, bad)


def test_start_pts_command() -> None:
    assert start_pts_command(Path("/w/first.ts")) == [
        "ffprobe", "-hide_banner", "-v", "error",
        "-protocol_whitelist", "file", "-f", "mpegts",
        "-select_streams", "v:0", "-show_entries", "stream=start_pts,start_time,time_base",
        "-print_format", "json", "file:/w/first.ts",
    ]  # fmt: skip


def test_parse_start_pts() -> None:
    exact = b'{"streams": [{"time_base": "1/90000", "start_pts": 132000, "start_time": "1.4"}]}'
    assert parse_start_pts(exact) == 132000
    assert parse_start_pts(b'{"streams": [{"start_time": "1.466667"}]}') == 132000
    for bad in (b"{}", b'{"streams": []}', b'{"streams": [{"start_time": "N/A"}]}'):
        with pytest.raises(InvalidMedia):
            parse_start_pts(bad)


def test_edited_cues_are_cleaned_sorted_and_checked() -> None:
    cues = [Cue(2.0, 3.0, " second\n\n  line two "), Cue(0.5, 1.0, "first  one")]
    assert edited_cues(cues, 10) == [Cue(0.5, 1.0, "first one"),
                                     Cue(2.0, 3.0, "second\nline two")]
    for bad, code in [
        ([Cue(0, 1, "a\nb\nc")], "caption_bad_text"),
        ([Cue(0, 1, "tab\there")], "caption_bad_text"),
        ([Cue(0, 1, "x" * 1001)], "caption_bad_text"),
        ([Cue(0, 1, "x")] * 3, "caption_too_many_cues"),
        ([Cue(0, 2, "a"), Cue(1, 3, "b")], "caption_overlapping_cues"),
        ([Cue(0, 1, "a --> b")], "caption_markup_forbidden"),
    ]:
        with pytest.raises(CaptionError) as caught:
            edited_cues(bad, 2)
        assert caught.value.code == code


def test_clean_glossary() -> None:
    assert clean_glossary([" Anna  Kowalski", "Podium", "Podium", " "], 5, 20) == [
        "Anna Kowalski", "Podium"]
    for terms in (["a"] * 6, ["x" * 21], ["tab\tterm"], ["two\nlines"]):
        with pytest.raises(InvalidGlossary):
            clean_glossary(terms, 5, 20)
