"""Live HLS of an RTMP stream: a worker transcodes it in real time into the ladder, viewers
play it through the API while it is live, and a speaker who drops and comes back continues
the same playlist after a discontinuity (the slate in between)."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import httpx
import m3u8

from tests.live.conftest import Rtmp, create_stream, status_of
from tests.support.live import publish
from tests.support.wait import wait_until
from workers.live import CAPTIONS_FLUSH_S


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def _media(anon: httpx.Client, stream_id: object, rendition: str) -> m3u8.M3U8:
    resp = anon.get(f"/live-streams/{stream_id}/{rendition}.m3u8")
    assert resp.status_code == 200, resp.text
    return m3u8.loads(resp.text)


def _segments(anon: httpx.Client, stream_id: object, rendition: str) -> int:
    playlist = _media(anon, stream_id, rendition)
    return int(playlist.media_sequence or 0) + len(playlist.segments)


def _rendition(anon: httpx.Client, stream_id: object) -> str:
    def ready() -> str | None:
        resp = anon.get(f"/live-streams/{stream_id}.m3u8")
        if resp.status_code != 200:
            return None
        return str(m3u8.loads(resp.text).playlists[0].uri.rsplit("/", 1)[1].removesuffix(".m3u8"))
    return wait_until(ready, 40, 0.3, "live playlist")


def _duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                          "-of", "json", str(path)], capture_output=True, check=True, timeout=30)
    return float(json.loads(out.stdout)["format"]["duration"])


def test_watch_while_live_then_the_playlist_ends(
        client: httpx.Client, anon: httpx.Client, rtmp: Rtmp, live_worker: Path,
        tmp_path: Path) -> None:
    body = create_stream(client, reconnect_window_s=1)
    publisher = publish(str(body["ingest"]["rtmp"]), 20, tmp_path / "pub.log")  # type: ignore[index]
    try:
        rendition = _rendition(anon, body["id"])
        master = m3u8.loads(anon.get(f"/live-streams/{body['id']}.m3u8").text)
        heights = [int(p.stream_info.resolution[1]) for p in master.playlists]
        assert heights and max(heights) <= 240, heights  # no rung taller than the source
        # a viewer (ffmpeg's HLS demuxer) plays 4 s while the stream is live
        seen = tmp_path / "seen.ts"
        viewer = subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
             "-i", f"{client.base_url}/live-streams/{body['id']}.m3u8", "-t", "4", "-c", "copy",
             str(seen)], capture_output=True, timeout=60)
        assert viewer.returncode == 0, viewer.stderr.decode()[-2000:]
        assert publisher.poll() is None, "the viewer did not watch while live"
        assert _duration(seen) >= 3.5
        playlist = _media(anon, body["id"], rendition)
        assert not playlist.is_endlist
        assert all(s.program_date_time is not None for s in playlist.segments[:1])
    finally:
        _stop(publisher)
    wait_until(lambda: status_of(client, body["id"]) == "ended", 20, 0.3, "ended")
    # the end waits for live captions to hear the last words (up to CAPTIONS_FLUSH_S)
    wait_until(lambda: _media(anon, body["id"], rendition).is_endlist,
               CAPTIONS_FLUSH_S + 20, 0.3, "ENDLIST")


def test_reconnect_continues_the_playlist_after_a_discontinuity(
        client: httpx.Client, anon: httpx.Client, rtmp: Rtmp, live_worker: Path,
        tmp_path: Path) -> None:
    body = create_stream(client, reconnect_window_s=60)
    url = str(body["ingest"]["rtmp"])  # type: ignore[index]
    statuses: list[int] = []
    stop = threading.Event()
    first = publish(url, 30, tmp_path / "first.log")
    try:
        rendition = _rendition(anon, body["id"])

        def poll() -> None:  # a viewer polling the playlist and its newest segment all along
            with httpx.Client(base_url=str(client.base_url), timeout=10) as viewer:
                while not stop.wait(0.5):
                    resp = viewer.get(f"/live-streams/{body['id']}/{rendition}.m3u8")
                    statuses.append(resp.status_code)
                    segments = m3u8.loads(resp.text).segments if resp.status_code == 200 else []
                    if segments:
                        statuses.append(httpx.get(segments[-1].uri, timeout=10).status_code)
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        wait_until(lambda: _segments(anon, body["id"], rendition) >= 3, 30, 0.3, "3 segments")
        _stop(first)
        wait_until(lambda: status_of(client, body["id"]) == "disconnected", 15, 0.2,
                   "disconnected")
        before = _segments(anon, body["id"], rendition)
        wait_until(lambda: _segments(anon, body["id"], rendition) >= before + 2, 20, 0.3,
                   "slate segments while away")
        second = publish(url, 30, tmp_path / "second.log")
        try:
            wait_until(lambda: status_of(client, body["id"]) == "active", 15, 0.2, "back")
            away = _segments(anon, body["id"], rendition)
            wait_until(lambda: _segments(anon, body["id"], rendition) >= away + 3, 30, 0.3,
                       "segments after the return")
            playlist = _media(anon, body["id"], rendition)
            marks = [s.discontinuity for s in playlist.segments]
            assert sum(marks) + int(playlist.discontinuity_sequence or 0) >= 2, playlist.dumps()
        finally:
            _stop(second)
    finally:
        stop.set()
        _stop(first)
    client.delete(f"/v1/live-streams/{body['id']}")
    assert statuses and set(statuses) == {200}, statuses
