"""`podium up` on a machine where nothing answers: it starts Redis and SeaweedFS itself, the API
and a worker, brings an upload to `ready`, restarts a worker that died, and Ctrl-C stops all."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from redis import Redis
from redis.exceptions import AuthenticationError

from tests.conftest import ROOT, upload, wait_for
from tests.support.media import make_clip
from tests.support.podium_up import UpStack, podium_up, stop_and_check_nothing_outlives
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow


def _private(data_dir: Path) -> list[str]:
    """Everything under var/ that another local user could read or enter."""
    loose = []
    for path in [data_dir, *data_dir.rglob("*")]:
        if path.is_symlink() or path.is_socket():
            continue
        if path.suffix == ".vif":  # SeaweedFS writes its volume info files 0644 whatever the
            continue               # umask; behind var/ (0700) nobody else can reach them
        if path.stat().st_mode & 0o077:
            loose.append(f"{oct(path.stat().st_mode & 0o777)} {path}")
    return loose


def test_podium_up_runs_and_supervises_the_stack(tmp_path: Path, media_dir: Path) -> None:
    with podium_up(tmp_path) as up:
        printed = up.output()
        var = up.data_dir
        assert re.search(rf"API key\s+{re.escape(up.api_key)}", printed)
        assert "redis      started" in printed and "seaweedfs  started" in printed
        assert oct((var / "api-key").stat().st_mode & 0o777) == "0o600"

        # finding 13: var/ is this user's only, logs and secrets included
        assert oct(var.stat().st_mode & 0o777) == "0o700"
        assert (var / "logs" / "api.log").exists() and (var / "logs" / "seaweedfs.log").exists()
        assert oct((var / "s3" / "security.toml").stat().st_mode & 0o777) == "0o600"
        assert _private(var) == []

        # finding 12: our own redis-server wants the generated password (0600 in var/)
        port = urlparse(_redis_url(up)).port
        password = (var / "redis-password").read_text().strip()
        with pytest.raises(AuthenticationError):
            Redis(port=port, socket_timeout=5).ping()
        assert Redis(port=port, password=password, socket_timeout=5).ping()

        assert httpx.get(f"{up.base_url}/readyz", timeout=5).status_code == 200
        with httpx.Client(base_url=up.base_url, timeout=60,
                          headers={"Authorization": f"Bearer {up.api_key}"}) as client:
            clip = make_clip(media_dir / "up-smoke.mp4", seconds=2)
            resp = upload(client, clip, title="via podium up")
            assert resp.status_code == 202, resp.text
            assert wait_for(client, resp.json()["id"], timeout_s=120)["status"] == "ready"
        assert _private(var) == []  # worker scratch, redis AOF, volumes: created under umask 077

        # `podium status` in the same shell finds the stack's own Redis and store (var/ secrets)
        status = subprocess.run([sys.executable, "-m", "cli.main", "status"], cwd=ROOT,
                                env=up.env, capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stdout + status.stderr
        assert "redis ok   storage ok   ffmpeg ok" in status.stdout
        assert re.search(r"^workers    1 registered", status.stdout, re.M), status.stdout

        # the RTMP server is supervised like the stores: killed, it comes back
        assert "rtmp       nginx-rtmp on" in printed
        assert oct((var / "rtmp" / "nginx.conf").stat().st_mode & 0o777) == "0o600"
        (nginx,) = up.children_running("nginx")
        os.kill(nginx, signal.SIGKILL)
        wait_until(lambda: [p for p in up.children_running("nginx") if p != nginx],
                   timeout=20, interval=0.3, what="dead nginx restarted")

        (old,) = up.children_running("cli.main worker")
        os.kill(old, signal.SIGKILL)
        wait_until(lambda: [p for p in up.children_running("cli.main worker") if p != old],
                   timeout=20, interval=0.3, what="dead worker restarted")
        stop_and_check_nothing_outlives(up)


def _redis_url(up: UpStack) -> str:
    """The Redis URL podium up printed (without its password)."""
    found = re.search(r"redis\s+started on (\S+)", up.output())
    assert found, up.output()
    return found.group(1)


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
