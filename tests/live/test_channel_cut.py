"""A channel on air cuts to a live stream and back: a real nginx-rtmp, an ffmpeg publisher, the
live worker, the API and a viewer's ffmpeg. The channel's playlist shows the stream's segments
after a discontinuity, with a media sequence that keeps growing, then its queue again, and
everything decodes across both cuts."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import Stack, upload, wait_for
from tests.live.conftest import Rtmp, create_stream, status_of
from tests.support.live import publish
from tests.support.media import make_clip
from tests.support.wait import wait_until

TIMESTAMPS_BACK = re.compile(r"non monotonically increasing dts to muxer")


@pytest.fixture(scope="module")
def media(api_server: str, stack: Stack, worker: Path, media_dir: Path) -> Iterator[dict]:
    clips = {"talk": make_clip(media_dir / "cut-talk-640x360.mp4", width=640, height=360,
                               seconds=16),
             "slate": make_clip(media_dir / "cut-slate-320x180.mp4", seconds=4)}
    with httpx.Client(base_url=api_server, timeout=60,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as c:
        ids = {name: upload(c, path, title=name, captions="none").json()["id"]
               for name, path in clips.items()}
        ready = {name: wait_for(c, asset_id, timeout_s=240) for name, asset_id in ids.items()}
        assert all(a["status"] == "ready" for a in ready.values()), ready
        yield ready


def _segments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def _shown(text: str) -> list[tuple[int, str, bool]]:
    """(media sequence number, object path, after a discontinuity tag) of each segment."""
    found = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text)
    seq = int(found.group(1)) if found else 0
    out, tagged = [], False
    for line in text.splitlines():
        if line == "#EXT-X-DISCONTINUITY":
            tagged = True
        elif line and not line.startswith("#"):
            out.append((seq, urlsplit(line).path, tagged))
            seq, tagged = seq + 1, False
    return out


def _is_live(path: str, stream_id: str) -> bool:
    return f"/live/{stream_id}/" in path


def _variant(anon: httpx.Client, channel_id: str) -> str:
    master = anon.get(f"/live/{channel_id}.m3u8")
    assert master.status_code == 200, master.text
    return _segments(master.text)[-1]  # the smallest variant


def _cut(client: httpx.Client, channel_id: str, **body: object) -> httpx.Response:
    return client.post(f"/v1/channels/{channel_id}/cut", json=body)


def _decode_errors(stderr: str) -> list[str]:
    """ffmpeg's complaints, but for its muxer seeing timestamps go back: the live stream's
    clock is not the items', and where they meet is an EXT-X-DISCONTINUITY, at which a player
    starts a new timeline (ffmpeg's HLS demuxer passes the timestamps through as they are)."""
    return [line for line in stderr.splitlines()
            if line.strip() and not TIMESTAMPS_BACK.search(line)]


def test_a_channel_cuts_to_a_live_stream_and_back(
        client: httpx.Client, anon: httpx.Client, media: dict, rtmp: Rtmp, live_worker: Path,
        tmp_path: Path) -> None:
    stream = create_stream(client, reconnect_window_s=1)
    sid = str(stream["id"])
    channel = client.post("/v1/channels", json={"name": "Cut stage", "window_s": 120,
                                                "slate_asset_id": media["slate"]["id"]}).json()
    cid = channel["id"]
    for _ in range(2):
        client.post(f"/v1/channels/{cid}/items", json={"asset_id": media["talk"]["id"]})

    # what cannot be cut to is refused, named
    refused = _cut(client, cid, live_stream_id=sid)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "channel_not_on_air"
    assert client.post(f"/v1/channels/{cid}/start").status_code == 200
    unknown = _cut(client, cid, live_stream_id="ls-0000000000000000")
    assert unknown.status_code == 404, unknown.text
    idle = _cut(client, cid, live_stream_id=sid)
    assert idle.status_code == 409 and idle.json()["error"]["code"] == "live_stream_not_started"
    not_cut = client.post(f"/v1/channels/{cid}/cut/end")
    assert not_cut.status_code == 409 and not_cut.json()["error"]["code"] == "channel_not_cut"

    publisher = publish(str(stream["ingest"]["rtmp"]), 120, tmp_path / "pub.log")  # type: ignore[index]
    try:
        wait_until(lambda: anon.get(f"/live-streams/{sid}.m3u8").status_code == 200, 60, 0.3,
                   "the stream's first segment")
        cut = _cut(client, cid, live_stream_id=sid)
        assert cut.status_code == 200, cut.text
        assert cut.json()["cut"]["live_stream_id"] == sid
        media_url = _variant(anon, cid)

        def live_shown(count: int) -> list[tuple[int, str, bool]] | None:
            shown = _shown(anon.get(media_url).text)
            return shown if sum(_is_live(p, sid) for _s, p, _t in shown) >= count else None
        first = wait_until(lambda: live_shown(2), 60, 0.5, "live segments in the channel")
        later = wait_until(lambda: live_shown(5), 60, 0.5, "more live segments")
        before = {s: p for s, p, _t in first}
        assert all(before[s] == p for s, p, _t in later if s in before)  # shown ones stay
        assert later[0][0] >= first[0][0]
        lives = [(s, p, t) for s, p, t in later if _is_live(p, sid)]
        assert lives[0][2], "no discontinuity at the cut"
        assert [s for s, _p, _t in lives] == list(range(lives[0][0], lives[0][0] + len(lives)))
        numbers = [int(p.rsplit("seg-", 1)[1][:6]) for _s, p, _t in lives]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
        # how far the channel runs behind the stream's own playlist (by design 2 to 4 segments
        # of 2 s, plus the segment being listed): the same instant, read from both
        own = _shown(anon.get(f"/live-streams/{sid}/{lives[0][1].split('/')[-2]}.m3u8").text)
        edge = int(own[-1][1].rsplit("seg-", 1)[1][:6])
        newest = int(_shown(anon.get(media_url).text)[-1][1].rsplit("seg-", 1)[1][:6])
        print(f"channel cut: {edge - newest} live segments behind the stream's playlist")
        assert 0 <= edge - newest <= 6, (edge, newest)
        now = client.get(f"/v1/channels/{cid}").json()
        assert now["now"] is None and now["cut"]["live_stream_id"] == sid
        assert now["next"]["asset_id"] == media["talk"]["id"]

        back = client.post(f"/v1/channels/{cid}/cut/end")
        assert back.status_code == 200, back.text

        def queue_again() -> list[tuple[int, str, bool]] | None:
            shown = _shown(anon.get(media_url).text)
            last_live = max((n for n, (_s, p, _t) in enumerate(shown) if _is_live(p, sid)),
                            default=None)
            if last_live is None or last_live + 2 >= len(shown):
                return None
            return shown
        around = wait_until(queue_again, 60, 0.5, "the queue after the cut")
        last_live = max(n for n, (_s, p, _t) in enumerate(around) if _is_live(p, sid))
        assert around[last_live + 1][2], "no discontinuity back to the queue"
        assert media["talk"]["id"] in around[last_live + 1][1]
        assert [s for s, _p, _t in around] == list(range(around[0][0],
                                                         around[0][0] + len(around)))
        assert client.get(f"/v1/channels/{cid}").json()["cut"] is None

        # a viewer's ffmpeg decodes the whole window: item, live stream, item
        window = anon.get(media_url).text.replace("#EXT-X-ENDLIST\n", "") + "#EXT-X-ENDLIST\n"
        assert any(_is_live(p, sid) for _s, p, _t in _shown(window))
        local = tmp_path / "window.m3u8"
        local.write_text(window)
        run = subprocess.run(
            ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error",
             "-protocol_whitelist", "file,http,https,tcp,tls,crypto", "-i", str(local),
             "-map", "0", "-f", "framemd5", "-"], capture_output=True, text=True, timeout=180)
        assert run.returncode == 0, run.stderr[-3000:]
        assert _decode_errors(run.stderr) == [], run.stderr[-3000:]
        frames = sum(1 for line in run.stdout.splitlines() if line.startswith("0,"))
        listed = sum(float(d) for d in re.findall(r"#EXTINF:([\d.]+)", window))
        assert frames >= 0.95 * 25 * listed, (frames, listed)  # every segment decoded

        # cut again, then the stream ends: the channel goes back to its queue by itself
        assert _cut(client, cid, live_stream_id=sid).status_code == 200
        wait_until(lambda: live_shown(len(lives) + 2), 60, 0.5, "the second cut")
    finally:
        if publisher.poll() is None:
            publisher.terminate()
            publisher.wait(10)
    wait_until(lambda: status_of(client, sid) == "ended", 60, 0.3, "the stream's end")

    def returned() -> bool:
        shown = _shown(anon.get(media_url).text)
        return bool(shown) and not _is_live(shown[-1][1], sid) and any(
            _is_live(p, sid) for _s, p, _t in shown)
    wait_until(returned, 60, 0.5, "the queue after the stream ended")
    wait_until(lambda: client.get(f"/v1/channels/{cid}").json()["cut"] is None, 30, 0.5,
               "the cut written off")
    ended = _cut(client, cid, live_stream_id=sid)
    assert ended.status_code == 409 and ended.json()["error"]["code"] == "live_stream_ended"


def test_a_cut_set_for_a_time_is_made_then(
        client: httpx.Client, anon: httpx.Client, media: dict, rtmp: Rtmp, live_worker: Path,
        tmp_path: Path) -> None:
    stream = create_stream(client, reconnect_window_s=1)
    sid = str(stream["id"])
    channel = client.post("/v1/channels", json={"name": "Timed cut", "window_s": 60,
                                                "slate_asset_id": media["slate"]["id"]}).json()
    cid = channel["id"]
    client.post(f"/v1/channels/{cid}/items", json={"asset_id": media["talk"]["id"]})
    assert client.post(f"/v1/channels/{cid}/start").status_code == 200
    past = _cut(client, cid, live_stream_id=sid, starts_at="2020-01-01T00:00:00Z")
    assert past.status_code == 422 and past.json()["error"]["code"] == "invalid_starts_at"
    publisher = publish(str(stream["ingest"]["rtmp"]), 60, tmp_path / "pub.log")  # type: ignore[index]
    try:
        wait_until(lambda: anon.get(f"/live-streams/{sid}.m3u8").status_code == 200, 60, 0.3,
                   "the stream's first segment")
        at = datetime.now(UTC) + timedelta(seconds=3)
        set_for = _cut(client, cid, live_stream_id=sid, starts_at=at.isoformat())
        assert set_for.status_code == 200, set_for.text
        assert set_for.json()["cut"]["scheduled"] is True
        media_url = _variant(anon, cid)
        wait_until(lambda: any(_is_live(p, sid) for _s, p, _t in
                               _shown(anon.get(media_url).text)), 60, 0.5, "the timed cut")
        made = client.get(f"/v1/channels/{cid}").json()["cut"]
        assert made["scheduled"] is False and made["live_stream_id"] == sid
        assert datetime.fromisoformat(made["starts_at"]) >= at - timedelta(seconds=0.01)
    finally:
        if publisher.poll() is None:
            publisher.terminate()
            publisher.wait(10)
        client.post(f"/v1/channels/{cid}/stop")
