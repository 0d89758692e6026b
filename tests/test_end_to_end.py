"""Upload through the API, wait for `ready`, decode every rendition over HTTP with ffmpeg."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import upload, wait_for
from tests.support.media import decoded_seconds, make_clip, probe_stream

pytestmark = pytest.mark.slow


def _variant_urls(master: str) -> list[tuple[str, int, int]]:
    """(url, width, height) of each EXT-X-STREAM-INF of a multivariant playlist."""
    out = []
    lines = master.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            w, h = re.search(r"RESOLUTION=(\d+)x(\d+)", line).groups()  # type: ignore[union-attr]
            out.append((lines[i + 1], int(w), int(h)))
    return out


@pytest.mark.parametrize(
    ("name", "width", "height", "seconds", "audio", "expected"),
    [
        ("hd-with-audio.mp4", 1920, 1080, 5, True, ["1080p", "720p", "480p", "360p"]),
        ("video-only.mp4", 640, 360, 3, False, ["360p"]),
    ],
)
def test_upload_to_playback(client: httpx.Client, anon: httpx.Client, worker: Path,
                            media_dir: Path, name: str, width: int, height: int,
                            seconds: float, audio: bool, expected: list[str]) -> None:
    clip = make_clip(media_dir / name, width=width, height=height, seconds=seconds,
                     fps=30, audio=audio)
    resp = upload(client, clip, title="Keynote", speaker="A. Speaker")
    assert resp.status_code == 202, resp.text
    created = resp.json()
    assert created["status"] == "waiting"
    assert created["progress"] == {"stage": "queued", "percent": 0.0}

    asset = wait_for(client, created["id"], timeout_s=300)
    assert asset["status"] == "ready", asset
    assert [r["name"] for r in asset["renditions"]] == expected  # type: ignore[index]
    assert asset["duration_s"] == pytest.approx(seconds, abs=0.2)
    assert asset["progress"] == {"stage": "done", "percent": 100.0}
    hls = asset["playback"]["hls"]  # type: ignore[index]

    master = anon.get(hls)
    assert master.status_code == 200
    assert master.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    variants = _variant_urls(master.text)
    assert len(variants) == len(expected)
    for url, w, h in variants:
        info = probe_stream(url)
        assert (info["width"], info["height"]) == (w, h)
        assert decoded_seconds(url) == pytest.approx(seconds, abs=0.25)
        # a source without audio gets a silent AAC track, so that a channel never meets an
        # audio gap at an item boundary
        assert "mp4a.40.2" in master.text
