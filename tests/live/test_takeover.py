"""A live worker killed outright (SIGKILL) mid-stream: another worker takes the stream over
within seconds, and the same playlist goes on after a discontinuity."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import m3u8
from rq import Worker

from runtime import handles
from tests.conftest import Stack
from tests.live.conftest import Rtmp, create_stream, start_live_worker, stop_worker
from tests.support.live import publish
from tests.support.wait import wait_until


def _newest(anon: httpx.Client, stream_id: object) -> int:
    resp = anon.get(f"/live-streams/{stream_id}/240p.m3u8")
    if resp.status_code != 200:
        return -1
    playlist = m3u8.loads(resp.text)
    return int(playlist.media_sequence or 0) + len(playlist.segments) - 1


def test_a_killed_worker_is_taken_over(client: httpx.Client, anon: httpx.Client, rtmp: Rtmp,
                                       live_worker: Path, stack: Stack, tmp_path: Path) -> None:
    spare = start_live_worker(stack, tmp_path / "spare.log")  # two remain after the kill
    body = create_stream(client, reconnect_window_s=60)
    publisher = publish(str(body["ingest"]["rtmp"]), 60, tmp_path / "pub.log")  # type: ignore[index]
    try:
        wait_until(lambda: _newest(anon, body["id"]) >= 2, 40, 0.3, "first segments")
        conn = handles.redis_connection()
        prefix = stack.env["PODIUM_QUEUE_PREFIX"]
        job_id = conn.get(f"{prefix}:live-job:{body['id']}").decode()  # type: ignore[union-attr]
        (running,) = [w for w in Worker.all(connection=conn)
                      if w.get_current_job_id() == job_id]
        before = _newest(anon, body["id"])
        os.kill(running.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(lambda: _newest(anon, body["id"]) >= before + 2, 40, 0.2,
                   "segments from the worker that took over")
        took = time.monotonic() - killed_at
        print(f"\ntakeover: new segments {took:.1f} s after the worker was killed")
        playlist = m3u8.loads(anon.get(f"/live-streams/{body['id']}/240p.m3u8").text)
        assert any(s.discontinuity for s in playlist.segments) or \
            int(playlist.discontinuity_sequence or 0) > 0, playlist.dumps()
        assert publisher.poll() is None  # the speaker never noticed
    finally:
        publisher.terminate()
        publisher.wait(10)
        client.delete(f"/v1/live-streams/{body['id']}")
        stop_worker(spare)
