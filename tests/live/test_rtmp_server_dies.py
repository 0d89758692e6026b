"""The RTMP server (nginx) dies under a live speaker: it never sends on_publish_done, yet the
stream goes `disconnected` as after a clean disconnect (the slate plays, the window runs), and
once the server is back the speaker's return continues the same playlist."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from tests.live.conftest import Rtmp, create_stream, newest_segment, speaker_returns, status_of
from tests.support.live import publish
from tests.support.wait import wait_until


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
        wait_until(lambda: newest_segment(anon, body["id"]) >= 1, 40, 0.3, "first segments")
        rtmp.kill()
        killed_at = time.monotonic()
        wait_until(lambda: first.poll() is not None, 15, 0.2, "publisher cut off")
        wait_until(lambda: status_of(client, body["id"]) == "disconnected", 40, 0.3,
                   "disconnected without on_publish_done")
        print(f"\nrtmp server killed: disconnected after {time.monotonic() - killed_at:.1f} s")
        stream = client.get(f"/v1/live-streams/{body['id']}").json()
        assert stream["error"] is None, stream  # the speaker is not blamed for the server
        away = newest_segment(anon, body["id"])
        wait_until(lambda: newest_segment(anon, body["id"]) >= away + 2, 40, 0.3,
                   "slate segments while the server is down")

        rtmp.start()  # as `podium up` restarts it
        second = speaker_returns(client, anon, url, body["id"], tmp_path / "second.log")
    finally:
        _stop(first)
        if second is not None:
            _stop(second)
        rtmp.ensure_running()
        client.delete(f"/v1/live-streams/{body['id']}")
