"""`podium up` on a machine where nothing answers: it starts Redis and SeaweedFS itself, the API
and a worker, brings an upload to `ready`, restarts a worker that died, and Ctrl-C stops all."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, _free_port, _weed_port, upload, wait_for
from tests.support.media import make_clip
from tests.support.procs import alive, children, cmdline, descendants

pytestmark = pytest.mark.slow


def _workers(pid: int) -> list[int]:
    """Worker processes `podium up` started (not their forked schedulers or work horses)."""
    return [p for p in children(pid) if "cli.main worker" in cmdline(p)]


def test_podium_up_runs_and_supervises_the_stack(tmp_path: Path, media_dir: Path) -> None:
    api_port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update({
        "PODIUM_DATA_DIR": str(tmp_path / "var"),
        "PODIUM_REDIS_URL": f"redis://127.0.0.1:{_free_port()}/0",  # nothing answers there
        "PODIUM_S3_PORT": str(_weed_port()),
        "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
        "PODIUM_WORKERS": "1",
    })
    out = (tmp_path / "up.out").open("w+")
    # Started the way a shell starts a background job: with SIGINT ignored.
    up = subprocess.Popen([sys.executable, "-m", "cli.main", "up"], cwd=ROOT, env=env,
                          stdout=out, stderr=subprocess.STDOUT,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        deadline = time.monotonic() + 120
        while "Podium is up" not in (tmp_path / "up.out").read_text():
            assert up.poll() is None, (tmp_path / "up.out").read_text()
            assert time.monotonic() < deadline, (tmp_path / "up.out").read_text()
            time.sleep(0.3)
        printed = (tmp_path / "up.out").read_text()
        key = (tmp_path / "var" / "api-key").read_text().strip()
        assert re.search(rf"API key\s+{re.escape(key)}", printed)
        assert "redis      started" in printed and "seaweedfs  started" in printed
        assert oct((tmp_path / "var" / "api-key").stat().st_mode & 0o777) == "0o600"

        base = f"http://127.0.0.1:{api_port}"
        assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                          timeout=60) as client:
            clip = make_clip(media_dir / "up-smoke.mp4", seconds=2)
            resp = upload(client, clip, title="via podium up")
            assert resp.status_code == 202, resp.text
            assert wait_for(client, resp.json()["id"], timeout_s=120)["status"] == "ready"

        (old,) = _workers(up.pid)
        os.kill(old, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while not [p for p in _workers(up.pid) if p != old and alive(p)]:
            assert time.monotonic() < deadline, "dead worker was not restarted"
            time.sleep(0.3)

        tree = descendants(up.pid)
        up.send_signal(signal.SIGINT)
        up.wait(60)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in tree) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in tree if alive(p)], "children outlived podium up"
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        for p in descendants(up.pid):
            os.kill(p, signal.SIGKILL)


def test_podium_up_refuses_a_taken_api_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        env.update({"PODIUM_DATA_DIR": str(tmp_path / "var"),
                    "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{port}"})
        res = subprocess.run([sys.executable, "-m", "cli.main", "up"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert f"port {port} is already in use" in res.stderr
    assert not (tmp_path / "var").exists()  # nothing was started or written
