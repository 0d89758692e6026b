"""Processes that must not outlive their parent (runtime.process), with real processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.api_process import ROOT
from tests.support.wait import wait_until

SPAWNER = textwrap.dedent("""
    import multiprocessing, os, sys, time
    from pathlib import Path

    def child(folder):
        from runtime import process
        Path(folder, "child.pid").write_text(str(os.getpid()))
        while not Path(folder, "go").exists():  # still importing when its parent dies
            time.sleep(0.05)
        process.die_with_spawning_parent()
        Path(folder, "survived").write_text("serving on its own")

    if __name__ == "__main__":
        ctx = multiprocessing.get_context("spawn")
        ctx.Process(target=child, args=(sys.argv[1],)).start()
        time.sleep(3600)
""")


def test_a_spawned_child_whose_parent_died_before_it_checked_exits(tmp_path: Path) -> None:
    """uvicorn (re)starts a worker, is SIGKILLed while the worker still imports: the adopted
    worker must exit when it gets to the check, not serve the port alone."""
    script = tmp_path / "spawner.py"
    script.write_text(SPAWNER)
    spawner = subprocess.Popen([sys.executable, str(script), str(tmp_path)], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        pid = int(wait_until(lambda: (tmp_path / "child.pid").is_file()
                             and (tmp_path / "child.pid").read_text(), 60, 0.05, "the child"))
        spawner.send_signal(signal.SIGKILL)
        spawner.wait(10)
        (tmp_path / "go").touch()
        wait_until(lambda: not Path(f"/proc/{pid}").exists()
                   or "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text(),
                   30, 0.05, "the orphaned child to exit")
        assert not (tmp_path / "survived").exists()
    finally:
        if spawner.poll() is None:
            spawner.kill()
        if (tmp_path / "child.pid").is_file():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int((tmp_path / "child.pid").read_text()), signal.SIGKILL)
