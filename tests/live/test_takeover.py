"""A live worker killed outright (SIGKILL) mid-stream, or while the speaker is away: another
worker takes the stream over within seconds, and the same playlist goes on after a
discontinuity."""

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
from tests.live.conftest import (
    Rtmp,
    create_stream,
    newest_segment,
    speaker_returns,
    start_live_worker,
    stop_worker,
)
from tests.support.live import publish
from tests.support.wait import wait_until


def _kill_the_transcoder(stack: Stack, stream_id: object) -> None:
    conn = handles.redis_connection()
    prefix = stack.env["PODIUM_QUEUE_PREFIX"]
    job_id = conn.get(f"{prefix}:live-job:{stream_id}").decode()  # type: ignore[union-attr]
    (running,) = [w for w in Worker.all(connection=conn) if w.get_current_job_id() == job_id]
    os.kill(running.pid, signal.SIGKILL)


def test_a_killed_worker_is_taken_over(client: httpx.Client, anon: httpx.Client, rtmp: Rtmp,
                                       live_worker: Path, stack: Stack, tmp_path: Path) -> None:
    spare = start_live_worker(stack, tmp_path / "spare.log")  # two remain after the kill
    body = create_stream(client, reconnect_window_s=60)
    publisher = publish(str(body["ingest"]["rtmp"]), 60, tmp_path / "pub.log")  # type: ignore[index]
    try:
        wait_until(lambda: newest_segment(anon, body["id"]) >= 2, 40, 0.3, "first segments")
        before = newest_segment(anon, body["id"])
        _kill_the_transcoder(stack, body["id"])
        killed_at = time.monotonic()
        wait_until(lambda: newest_segment(anon, body["id"]) >= before + 2, 40, 0.2,
                   "segments from the worker that took over")
        took = time.monotonic() - killed_at
        print(f"\ntakeover: new segments {took:.1f} s after the worker was killed")
        playlist = m3u8.loads(anon.get(f"/live-streams/{body['id']}/240p.m3u8").text)
        assert any(s.discontinuity for s in playlist.segments) or \
            int(playlist.discontinuity_sequence or 0) > 0, playlist.dumps()
        # the live captions go on too: the new worker writes the segments the dead one left
        # (empty) and hears on from there
        wait_until(lambda: newest_segment(anon, body["id"], "subs-en") >= before + 2, 60, 0.3,
                   "live captions after the takeover")
        assert publisher.poll() is None  # the speaker never noticed
    finally:
        publisher.terminate()
        publisher.wait(10)
        client.delete(f"/v1/live-streams/{body['id']}")
        stop_worker(spare)


def test_a_worker_killed_while_the_speaker_is_away_is_taken_over(
        client: httpx.Client, anon: httpx.Client, rtmp: Rtmp, live_worker: Path, stack: Stack,
        tmp_path: Path) -> None:
    spare = start_live_worker(stack, tmp_path / "spare.log")
    body = create_stream(client, reconnect_window_s=300)
    url = str(body["ingest"]["rtmp"])  # type: ignore[index]
    first = publish(url, 60, tmp_path / "first.log")
    second = None
    try:
        wait_until(lambda: newest_segment(anon, body["id"]) >= 1, 40, 0.3, "first segments")
        first.terminate()
        first.wait(10)
        wait_until(lambda: client.get(f"/v1/live-streams/{body['id']}").json()["status"]
                   == "disconnected", 20, 0.3, "disconnected")
        away = newest_segment(anon, body["id"])
        wait_until(lambda: newest_segment(anon, body["id"]) >= away + 1, 40, 0.3, "slate segments")
        _kill_the_transcoder(stack, body["id"])
        killed_at = time.monotonic()
        before = newest_segment(anon, body["id"])
        wait_until(lambda: newest_segment(anon, body["id"]) >= before + 2, 40, 0.3,
                   "slate segments from the worker that took over")
        print(f"\ntakeover while away: new slate segments {time.monotonic() - killed_at:.1f} s "
              "after the worker was killed")
        second = speaker_returns(client, anon, url, body["id"], tmp_path / "second.log")
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        client.delete(f"/v1/live-streams/{body['id']}")
        stop_worker(spare)
