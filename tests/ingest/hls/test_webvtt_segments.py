"""Exact tests for segmented WebVTT subtitle renditions."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ingest.captions.files import Cue, parse_captions
from ingest.hls.webvtt_segments import segment_bounds, segment_name, segment_webvtt

MAP = "X-TIMESTAMP-MAP=MPEGTS:126000,LOCAL:00:00:00.000"


def test_playlist_and_segments_exact() -> None:
    cues = [
        Cue(0.5, 2.0, "first"),
        Cue(3.5, 4.5, "spans <two> & more"),  # crosses the 4 s boundary: in both segments
        Cue(9.9, 11.0, "runs past the end"),
        Cue(12.0, 13.0, "after the end"),  # never on screen: dropped
    ]
    rendition = segment_webvtt(
        cues, total_duration=10.0, segment_duration=4.0, mpegts_offset=126000
    )

    assert rendition.playlist == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-TARGETDURATION:4\n"
        "#EXT-X-PLAYLIST-TYPE:VOD\n"
        "#EXTINF:4,\nseg-00000.vtt\n"
        "#EXTINF:4,\nseg-00001.vtt\n"
        "#EXTINF:2,\nseg-00002.vtt\n"
        "#EXT-X-ENDLIST\n"
    )
    spanning = "00:00:03.500 --> 00:00:04.500\nspans &lt;two&gt; &amp; more\n\n"
    assert rendition.segments == [
        ("seg-00000.vtt", f"WEBVTT\n{MAP}\n\n00:00:00.500 --> 00:00:02.000\nfirst\n\n{spanning}"),
        ("seg-00001.vtt", f"WEBVTT\n{MAP}\n\n{spanning}"),
        (
            "seg-00002.vtt",
            f"WEBVTT\n{MAP}\n\n00:00:09.900 --> 00:00:11.000\nruns past the end\n\n",
        ),
    ]


def test_empty_segments_are_still_written() -> None:
    rendition = segment_webvtt([Cue(7.0, 8.0, "late")], 8.0, 6.0, mpegts_offset=0)
    assert rendition.segments[0] == (
        "seg-00000.vtt",
        "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n",
    )
    assert rendition.segments[1][1].endswith("00:00:07.000 --> 00:00:08.000\nlate\n\n")


def test_cue_touching_a_boundary_belongs_to_one_segment() -> None:
    rendition = segment_webvtt([Cue(2.0, 4.0, "a"), Cue(4.0, 5.0, "b")], 8.0, 4.0, 90000)
    first, second = (text for _name, text in rendition.segments)
    assert "a" in first.split("\n") and "b" not in first.split("\n")
    assert "b" in second.split("\n") and "a" not in second.split("\n")


def test_target_duration_rounds_to_nearest_integer() -> None:
    playlist = segment_webvtt([], 13.0, 6.4, 0).playlist
    assert "#EXT-X-TARGETDURATION:6\n" in playlist
    assert playlist.count("#EXTINF:6.4,") == 2 and "#EXTINF:0.2," in playlist
    assert "#EXT-X-TARGETDURATION:1\n" in segment_webvtt([], 0.4, 6.0, 0).playlist


def test_segment_bounds_ignore_float_noise() -> None:
    assert segment_bounds(12.000000001, 4.0) == [(0.0, 4.0), (4.0, 8.0), (8.0, 12.0)]
    assert segment_bounds(0.3 * 3, 0.3) == [(0.0, 0.3), (0.3, 0.6), (0.6, 0.9)]
    assert segment_name(12) == "seg-00012.vtt"


@pytest.mark.parametrize(
    ("total", "segment", "offset"),
    [(0.0, 6.0, 0), (10.0, 0.0, 0), (float("inf"), 6.0, 0), (10.0, 6.0, -1), (10.0, 6.0, 2**33)],
)
def test_bad_arguments(total: float, segment: float, offset: int) -> None:
    with pytest.raises(ValueError):
        segment_webvtt([], total, segment, offset)


def test_ffmpeg_reads_the_segmented_track_back(tmp_path: Path) -> None:
    cues = [Cue(0.5, 2.0, "first"), Cue(3.5, 4.5, "spans a boundary"), Cue(9.0, 9.5, "last")]
    rendition = segment_webvtt(cues, 10.0, 4.0, 126000)
    (tmp_path / "subs.m3u8").write_text(rendition.playlist)
    for name, text in rendition.segments:
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-allowed_extensions",
            "ALL",
            "-i",
            "subs.m3u8",
            "-f",
            "srt",
            "-",
        ],
        cwd=tmp_path,
        capture_output=True,
        check=True,
        timeout=30,
    )
    assert parse_captions(result.stdout, 10_000) == cues
