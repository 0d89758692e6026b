"""`podium api --workers N` (and `podium up`, PODIUM_API_WORKERS): several API processes on one
port, none of which outlives uvicorn's supervisor when it is killed outright."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import Stack
from tests.support.api_process import ROOT, stop
from tests.support.wait import wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for whoever adopted it to reap it counts as dead)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "\nState:\tZ" not in status


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found.update(int(c) for c in children)
    return found


def test_api_workers_die_with_their_supervisor(stack: Stack, tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    env = {**os.environ, **stack.env, "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    log = tmp_path / "api.log"
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "api", "--port", str(port),
                             "--workers", "2"], cwd=ROOT, env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)
    workers: set[int] = set()
    try:
        wait_until(lambda: _answers(url), timeout=90, interval=0.2, what="the API")
        workers = {p for p in _children(proc.pid)
                   if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()}
        assert len(workers) == 2, (workers, log.read_text())
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        wait_until(lambda: not _answers(url), timeout=20, what="the workers to be gone")
        wait_until(lambda: not any(_alive(p) for p in workers), timeout=20,
                   what="no API worker left")
    finally:
        stop(proc)
        for pid in workers:  # only if the test failed: never leave them serving
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
