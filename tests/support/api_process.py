"""The API as a separate uvicorn process, for tests that need their own settings or its RSS."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def api_process(env: dict[str, str], port: int, log: Path,
                ready_path: str = "/healthz") -> Iterator[subprocess.Popen[bytes]]:
    """Serve the API on 127.0.0.1:``port`` with ``env``; yields once ``ready_path`` answers 200."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:

        def answers() -> bool:
            try:
                if httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, log.read_text()
            return False

        # a loaded machine imports the app slowly
        wait_until(answers, 90, 0.1, f"the API to answer {ready_path}")
        yield proc
    finally:
        stop(proc, 10)


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """An RQ worker (`podium worker`) with ``env``, its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes], grace_s: float = 20) -> None:
    """Terminate a process we started, killing it when it does not exit within ``grace_s``."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
