"""Issue 11, "time to first playable": an asset plays while it is still being encoded. Its
media playlists grow as EVENT playlists, the multivariant playlist appears once every
rendition has its first segment, the asset says `playable` (with `playback.hls`) before it
is `ready`, and when it is ready the media playlists are VOD with ENDLIST."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import m3u8
import pytest

from tests.conftest import upload, wait_for
from tests.support.media import make_clip
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow


def _asset(client: httpx.Client, asset_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/v1/assets/{asset_id}").json()
    return body


def _decode_first_seconds(url: str, seconds: float) -> float:
    """Decode the start of an HLS URL with ffmpeg, as a player would; seconds decoded."""
    res = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", url, "-map", "0:v:0",
         "-t", str(seconds), "-f", "null", "-progress", "pipe:1", "-"],
        check=True, capture_output=True, text=True, timeout=120)
    times = [int(line.split("=", 1)[1]) / 1e6 for line in res.stdout.splitlines()
             if line.startswith("out_time_us=") and line.split("=", 1)[1].isdigit()]
    return max(times, default=0.0)


def test_asset_plays_before_it_is_ready(client: httpx.Client, anon: httpx.Client,
                                        worker: Path, media_dir: Path) -> None:
    clip = make_clip(media_dir / "playable-480p-90s.mp4", width=854, height=480, seconds=90)
    resp = upload(client, clip, title="plays while encoding")
    assert resp.status_code == 202, resp.text
    asset_id = resp.json()["id"]
    assert anon.get(f"/play/{asset_id}.m3u8").status_code == 404  # nothing to play yet

    asset = wait_until(lambda: (a := _asset(client, asset_id))["playable"] and a,
                       timeout=180, interval=0.2, what="asset playable")
    hls = asset["playback"]["hls"]
    master = anon.get(hls)
    media = anon.get(f"/play/{asset_id}/360p.m3u8")
    still = _asset(client, asset_id)
    assert asset["status"] == "preparing" and still["status"] == "preparing", still
    assert master.status_code == 200, master.text
    variants = m3u8.loads(master.text).playlists
    assert sorted(v.uri.rsplit("/", 1)[-1] for v in variants) == ["360p.m3u8", "480p.m3u8"]
    growing = m3u8.loads(media.text)
    assert growing.playlist_type == "event" and not growing.is_endlist
    assert growing.segments and growing.target_duration == 4
    assert media.headers["cache-control"] == "max-age=1"  # it grows: no stale copies

    decoded = _decode_first_seconds(hls, 6)  # the first two segments, through the API
    after = _asset(client, asset_id)
    print(f"\nplayable at {asset['progress']['percent']:.0f} % of the transcode; decoded "
          f"{decoded:.1f} s while {after['status']} at {after['progress']['stage']} "
          f"{after['progress']['percent']:.0f} %")
    assert decoded >= 5.5
    assert after["status"] == "preparing" and after["progress"]["stage"] == "transcode", after

    done = wait_for(client, asset_id, timeout_s=300)
    assert done["status"] == "ready" and done["playable"] is True
    final = m3u8.loads(anon.get(f"/play/{asset_id}/360p.m3u8").text)
    assert final.playlist_type == "vod" and final.is_endlist
    assert final.target_duration == growing.target_duration
    # the EVENT playlist only grew: what a player was given stays the same
    assert [s.duration for s in final.segments[:len(growing.segments)]] == \
        [s.duration for s in growing.segments]
    assert sum(s.duration for s in final.segments) == pytest.approx(90, abs=0.5)
