"""Where the poster frame is taken, and the ffmpeg command that takes it (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.hls.publishing import poster_position
from ingest.media.commands import poster_command


def test_a_third_into_the_asset() -> None:
    assert poster_position([4.0, 4.0, 4.0]) == (1, pytest.approx(0.0))
    assert poster_position([2.0]) == (0, pytest.approx(2 / 3))


def test_never_later_than_twenty_seconds() -> None:
    index, offset = poster_position([4.0] * 100)
    assert (index, offset) == (5, pytest.approx(0.0))


def test_stays_inside_the_last_segment() -> None:
    index, offset = poster_position([0.04])
    assert index == 0 and 0 <= offset < 0.04


def test_poster_command_decodes_one_frame_of_the_segment() -> None:
    cmd = poster_command(Path("/w/seg.ts"), Path("/w/p.jpg"), 1.5)
    assert cmd == ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y",
                   "-protocol_whitelist", "file", "-f", "mpegts", "-i", "file:/w/seg.ts",
                   "-ss", "1.500", "-map", "0:v:0", "-frames:v", "1",
                   "-vf", "scale=320:-2", "-c:v", "mjpeg", "-q:v", "5",
                   "-f", "image2", "-update", "1", "/w/p.jpg"]
