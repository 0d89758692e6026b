"""RTMP ingest through a real nginx-rtmp: the key is checked at connect, a second publisher
and a revoked key are refused, a disconnection opens the reconnect window."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import httpx

from tests.live.conftest import Rtmp, create_stream, status_of
from tests.support.live import publish
from tests.support.wait import wait_until


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def test_create_answers_the_contract(client: httpx.Client, rtmp: Rtmp) -> None:
    body = create_stream(client)
    assert body["status"] == "idle"
    key = str(body["stream_key"])
    assert body["ingest"] == {"rtmp": f"{rtmp.base}/{key}", "srt": None}
    assert body["id"] in [s["id"] for s in client.get("/v1/live-streams").json()["items"]]
    assert client.get(f"/v1/live-streams/{body['id']}").json()["stream_key"] == key
    assert client.get("/v1/live-streams/ls-0000000000000000").status_code == 404


def test_anonymous_is_refused(anon: httpx.Client) -> None:
    assert anon.post("/v1/live-streams", json={"title": "x"}).status_code == 401


def test_publish_activates_and_a_second_publisher_is_refused(
        client: httpx.Client, rtmp: Rtmp, tmp_path: Path) -> None:
    body = create_stream(client, reconnect_window_s=1)
    url = str(body["ingest"]["rtmp"])  # type: ignore[index]
    first = publish(url, 20, tmp_path / "first.log")
    try:
        wait_until(lambda: status_of(client, body["id"]) == "active", 15, 0.2, "active")
        second = publish(url, 20, tmp_path / "second.log")
        assert second.wait(15) != 0, "a second publisher on the same key was let in"
        assert first.poll() is None, "the first publisher was dropped"
        assert status_of(client, body["id"]) == "active"
    finally:
        _stop(first)
    wait_until(lambda: status_of(client, body["id"]) in ("disconnected", "ended"), 15, 0.2,
               "disconnected")
    # the window (1 s) passes: the stream ends and its key opens nothing any more
    wait_until(lambda: status_of(client, body["id"]) == "ended", 15, 0.3, "ended")
    late = publish(url, 5, tmp_path / "late.log")
    assert late.wait(15) != 0


def test_wrong_key_is_refused(rtmp: Rtmp, tmp_path: Path) -> None:
    proc = publish(f"{rtmp.base}/sk-not-a-key", 10, tmp_path / "wrong.log")
    assert proc.wait(15) != 0


def test_revoking_drops_the_publisher(client: httpx.Client, rtmp: Rtmp, tmp_path: Path) -> None:
    body = create_stream(client)
    proc = publish(str(body["ingest"]["rtmp"]), 30, tmp_path / "pub.log")  # type: ignore[index]
    try:
        wait_until(lambda: status_of(client, body["id"]) == "active", 15, 0.2, "active")
        ended = client.delete(f"/v1/live-streams/{body['id']}")
        assert ended.status_code == 200 and ended.json()["status"] == "ended"
        assert ended.json()["end_reason"] == "deleted"
        wait_until(lambda: proc.poll() is not None, 15, 0.2, "publisher dropped")
    finally:
        _stop(proc)


def test_garbage_is_dropped_and_a_stall_too_without_harm_to_another_stream(
        client: httpx.Client, anon: httpx.Client, rtmp: Rtmp, live_worker: Path,
        tmp_path: Path) -> None:
    healthy = create_stream(client, reconnect_window_s=0)
    junk = create_stream(client, reconnect_window_s=60)
    good = publish(str(healthy["ingest"]["rtmp"]), 40, tmp_path / "good.log")  # type: ignore[index]
    # valid FLV, H.264 whose every packet is corrupted (the noise bitstream filter)
    bad = publish(str(junk["ingest"]["rtmp"]), 40, tmp_path / "bad.log",  # type: ignore[index]
                  extra=["-bsf:v", "noise=amount=2"])
    try:
        wait_until(lambda: anon.get(f"/live-streams/{healthy['id']}.m3u8").status_code == 200,
                   40, 0.3, "healthy stream playing")
        wait_until(lambda: bad.poll() is not None, 40, 0.3, "garbage publisher dropped")
        wait_until(lambda: status_of(client, junk["id"]) == "disconnected", 15, 0.3,
                   "dropped publisher's stream disconnected")
        after = client.get(f"/v1/live-streams/{junk['id']}").json()
        assert after["error"] in ("unreadable_stream", "no_video_stream"), after
        assert good.poll() is None

        # a publisher that stops sending is dropped by the RTMP server (drop_idle_publisher)
        good.send_signal(signal.SIGSTOP)
        wait_until(lambda: status_of(client, healthy["id"]) in ("disconnected", "ended"), 20,
                   0.3, "stalled publisher dropped")
    finally:
        good.send_signal(signal.SIGCONT)
        _stop(good)
        _stop(bad)
        client.delete(f"/v1/live-streams/{junk['id']}")
        client.delete(f"/v1/live-streams/{healthy['id']}")


def test_windows_up_to_30_minutes_and_durations_within_the_service_limit(
        client: httpx.Client) -> None:
    body = create_stream(client, reconnect_window_s=1800, max_duration_s=600)
    assert body["reconnect_window_s"] == 1800 and body["max_duration_s"] == 600
    client.delete(f"/v1/live-streams/{body['id']}")
    default = create_stream(client)
    assert default["max_duration_s"] == 14400  # the deployment's default
    client.delete(f"/v1/live-streams/{default['id']}")
    too_long = client.post("/v1/live-streams", json={"title": "x", "reconnect_window_s": 1801})
    assert too_long.status_code == 422, too_long.text
    over = client.post("/v1/live-streams", json={"title": "x", "max_duration_s": 10**9})
    assert over.status_code == 422 and over.json()["error"]["code"] == "invalid_max_duration"


def test_a_session_past_its_maximum_duration_is_dropped_and_the_stream_ends(
        client: httpx.Client, rtmp: Rtmp, tmp_path: Path) -> None:
    body = create_stream(client, max_duration_s=4, reconnect_window_s=60)
    url = str(body["ingest"]["rtmp"])  # type: ignore[index]
    proc = publish(url, 60, tmp_path / "pub.log")
    try:
        wait_until(lambda: status_of(client, body["id"]) == "active", 15, 0.2, "active")
        wait_until(lambda: proc.poll() is not None, 30, 0.3, "publisher dropped")
        stream = client.get(f"/v1/live-streams/{body['id']}").json()
        assert stream["status"] == "ended" and stream["end_reason"] == "max_duration", stream
    finally:
        _stop(proc)
    late = publish(url, 5, tmp_path / "late.log")  # the key opens nothing any more
    assert late.wait(15) != 0
