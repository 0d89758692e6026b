"""The RTMP server (nginx) dies under a live speaker: it never sends on_publish_done, yet the
stream goes `disconnected` as after a clean disconnect (the slate plays, the window runs), and
once the server is back the speaker's return continues the same playlist."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import m3u8

from tests.live.conftest import Rtmp, create_stream, status_of
from tests.support.live import publish
from tests.support.wait import wait_until


def _newest(anon: httpx.Client, stream_id: object) -> int:
    """The media sequence number of the newest segment listed (-1: none yet)."""
    resp = anon.get(f"/live-streams/{stream_id}/240p.m3u8")
    if resp.status_code != 200:
        return -1
    playlist = m3u8.loads(resp.text)
    return int(playlist.media_sequence or 0) + len(playlist.segments) - 1


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def test_a_dead_rtmp_server_disconnects_the_stream(
        client: httpx.Client, anon: httpx.Client, rtmp: Rtmp, live_worker: Path,
        tmp_path: Path) -> None:
    body = create_stream(client, reconnect_window_s=300)
    url = str(body["ingest"]["rtmp"])  # type: ignore[index]
    first = publish(url, 90, tmp_path / "first.log")
    second: subprocess.Popen[bytes] | None = None
    try:
        wait_until(lambda: _newest(anon, body["id"]) >= 1, 40, 0.3, "first segments")
        rtmp.kill()
        killed_at = time.monotonic()
        wait_until(lambda: first.poll() is not None, 15, 0.2, "publisher cut off")
        wait_until(lambda: status_of(client, body["id"]) == "disconnected", 40, 0.3,
                   "disconnected without on_publish_done")
        print(f"\nrtmp server killed: disconnected after {time.monotonic() - killed_at:.1f} s")
        stream = client.get(f"/v1/live-streams/{body['id']}").json()
        assert stream["error"] is None, stream  # the speaker is not blamed for the server
        away = _newest(anon, body["id"])
        wait_until(lambda: _newest(anon, body["id"]) >= away + 2, 40, 0.3,
                   "slate segments while the server is down")

        rtmp.start()  # as `podium up` restarts it
        second = publish(url, 60, tmp_path / "second.log")
        wait_until(lambda: status_of(client, body["id"]) == "active", 30, 0.3, "back on air")
        back = _newest(anon, body["id"])
        wait_until(lambda: _newest(anon, body["id"]) >= back + 3, 40, 0.3,
                   "the speaker's segments after the return")
        playlist = m3u8.loads(anon.get(f"/live-streams/{body['id']}/240p.m3u8").text)
        marks = sum(s.discontinuity for s in playlist.segments)
        assert marks + int(playlist.discontinuity_sequence or 0) >= 2, playlist.dumps()
        assert second.poll() is None
    finally:
        _stop(first)
        if second is not None:
            _stop(second)
        rtmp.ensure_running()
        client.delete(f"/v1/live-streams/{body['id']}")
