"""`podium up` as a real process for tests: its own Redis and SeaweedFS, one worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT, _free_port, _weed_port
from tests.support.procs import alive, children, cmdline, descendants
from tests.support.wait import wait_until


@dataclass
class UpStack:
    proc: subprocess.Popen[bytes]
    base_url: str
    api_key: str
    data_dir: Path
    out_path: Path
    env: dict[str, str]
    """The environment it was started with (an operator's shell)."""

    def output(self) -> str:
        return self.out_path.read_text()

    def children_running(self, marker: str) -> list[int]:
        """Live children of `podium up` whose command line contains ``marker``."""
        return [p for p in children(self.proc.pid) if marker in cmdline(p) and alive(p)]


@contextmanager
def podium_up(tmp_path: Path, **extra_env: str) -> Iterator[UpStack]:
    """Start `podium up` where nothing answers (own redis-server and weed), wait until it
    prints that it is up; stop it (and anything it left) at the end."""
    api_port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update({
        "PODIUM_DATA_DIR": str(tmp_path / "var"),
        "PODIUM_REDIS_URL": f"redis://127.0.0.1:{_free_port()}/0",  # nothing answers there
        "PODIUM_S3_PORT": str(_weed_port()),
        "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
        "PODIUM_WORKERS": "1",
        "PODIUM_RTMP_PORT": str(_free_port()),
        "PODIUM_LIVE_WORKERS": "0",
        **extra_env,
    })
    out_path = tmp_path / "up.out"
    out = out_path.open("w+")
    # Started the way a shell starts a background job: with SIGINT ignored.
    up = subprocess.Popen([sys.executable, "-m", "cli.main", "up"], cwd=ROOT, env=env,
                          stdout=out, stderr=subprocess.STDOUT,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        def is_up() -> bool:
            assert up.poll() is None, out_path.read_text()
            return "Podium is up" in out_path.read_text()

        wait_until(is_up, timeout=180, interval=0.3, what="podium up")
        key = (tmp_path / "var" / "api-key").read_text().strip()
        yield UpStack(up, f"http://127.0.0.1:{api_port}", key, tmp_path / "var", out_path, env)
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        for p in descendants(up.pid):
            os.kill(p, signal.SIGKILL)


def stop_and_check_nothing_outlives(up: UpStack) -> None:
    """Ctrl-C, as a person would: every child must be gone within seconds."""
    tree = descendants(up.proc.pid)
    up.proc.send_signal(signal.SIGINT)
    up.proc.wait(60)
    wait_until(lambda: not any(alive(p) for p in tree), 10, 0.2,
               "podium up's children to be gone")
    assert not [p for p in tree if alive(p)], "children outlived podium up"
