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
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
