"""A real nginx-rtmp for the live tests, configured by `cli.stack.rtmp_conf` like `podium up`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import m3u8
import pytest

from cli import services
from cli.stack import rtmp_conf
from config import get_settings
from runtime import handles
from tests.conftest import ROOT, Stack
from tests.support.live import free_port, publish
from tests.support.wait import wait_until


@dataclass
class Rtmp:
    port: int
    base: str
    """`rtmp://127.0.0.1:{port}/live`"""
    data_dir: Path
    log_dir: Path
    server: services.Service | None = field(default=None, repr=False)

    def start(self) -> None:
        """nginx-rtmp on ``port``, configured as `podium up` configures it."""
        self.server = services.start_nginx_rtmp(rtmp_conf(get_settings()), self.data_dir,
                                                self.log_dir, self.port)

    def kill(self) -> None:
        """SIGKILL: the server dies without a word (no on_publish_done)."""
        assert self.server is not None
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.proc.wait(10)

    def ensure_running(self) -> None:
        if self.server is None or self.server.proc.poll() is not None:
            self.start()


@pytest.fixture(scope="session")
def rtmp(stack: Stack, api_server: str) -> Iterator[Rtmp]:
    port = free_port()
    os.environ["PODIUM_RTMP_PORT"] = str(port)
    stack.env["PODIUM_RTMP_PORT"] = str(port)
    handles.reset()
    server = Rtmp(port, f"rtmp://127.0.0.1:{port}/live", stack.data_dir / "rtmp",
                  stack.data_dir / "logs")
    server.start()
    try:
        yield server
    finally:
        if server.server is not None:
            server.server.stop()
        os.environ.pop("PODIUM_RTMP_PORT", None)
        handles.reset()


def start_live_worker(stack: Stack, log_path: Path) -> subprocess.Popen[bytes]:
    """`podium worker --live`: one live stream at a time."""
    env = dict(os.environ, **stack.env)
    with log_path.open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "cli.main", "worker", "--live"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def live_worker(rtmp: Rtmp, stack: Stack,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Two live workers for the session (two streams at once); yields their log folder."""
    folder = tmp_path_factory.mktemp("live-workers")
    procs = [start_live_worker(stack, folder / f"worker-{n}.log") for n in (1, 2)]
    yield folder
    for proc in procs:
        stop_worker(proc)


@pytest.fixture(scope="module")
def srt_relays(rtmp: Rtmp, stack: Stack,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """SRT ingest on for one module (the others see `ingest.srt` null): a port range for the
    API, and `podium srt` running the listeners."""
    first = free_port()
    os.environ["PODIUM_SRT_PORTS"] = f"{first}-{first + 3}"
    stack.env["PODIUM_SRT_PORTS"] = os.environ["PODIUM_SRT_PORTS"]
    handles.reset()
    log_path = tmp_path_factory.mktemp("srt") / "srt.log"
    env = dict(os.environ, **stack.env)
    with log_path.open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "srt"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        yield log_path
    finally:
        stop_worker(proc)
        os.environ.pop("PODIUM_SRT_PORTS", None)
        stack.env.pop("PODIUM_SRT_PORTS", None)
        handles.reset()


def create_stream(client: httpx.Client, **extra: object) -> dict[str, object]:
    resp = client.post("/v1/live-streams", json={"title": "Remote keynote",
                                                  "speaker": "Ada", **extra})
    assert resp.status_code == 201, resp.text
    body: dict[str, object] = resp.json()
    return body


def status_of(client: httpx.Client, stream_id: object) -> str:
    return str(client.get(f"/v1/live-streams/{stream_id}").json()["status"])


def newest_segment(anon: httpx.Client, stream_id: object, rendition: str = "240p") -> int:
    """The media sequence number of the newest segment listed (-1: none yet)."""
    resp = anon.get(f"/live-streams/{stream_id}/{rendition}.m3u8")
    if resp.status_code != 200:
        return -1
    playlist = m3u8.loads(resp.text)
    return int(playlist.media_sequence or 0) + len(playlist.segments) - 1


def speaker_returns(client: httpx.Client, anon: httpx.Client, url: str, stream_id: object,
                    log: Path) -> subprocess.Popen[bytes]:
    """The speaker publishes again: the stream is back on air, the same playlist goes on with
    their segments after a discontinuity; the publisher (still running) is returned."""
    publisher = publish(url, 60, log)
    wait_until(lambda: status_of(client, stream_id) == "active", 30, 0.3, "back on air")
    back = newest_segment(anon, stream_id)
    wait_until(lambda: newest_segment(anon, stream_id) >= back + 3, 40, 0.3,
               "the speaker's segments after the return")
    playlist = m3u8.loads(anon.get(f"/live-streams/{stream_id}/240p.m3u8").text)
    marks = sum(s.discontinuity for s in playlist.segments)
    assert marks + int(playlist.discontinuity_sequence or 0) >= 2, playlist.dumps()
    assert publisher.poll() is None
    return publisher
