"""The one place that starts ffmpeg and ffprobe.

Each run gets: a niceness, a hard timeout, its stderr kept to a bounded tail for the error,
progress parsed from ``-progress pipe:1``, and PR_SET_PDEATHSIG so it dies with the process
that started it (a worker killed with SIGKILL leaves no ffmpeg behind).
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ingest.errors import FfmpegFailed, FfmpegTimeout
from runtime.process import child_setup

log = logging.getLogger(__name__)

STDERR_TAIL_BYTES = 4000

ProgressCallback = Callable[[float], None]
"""Called with the media time (seconds) ffmpeg has written so far."""


@dataclass(frozen=True)
class RunResult:
    returncode: int
    stdout: bytes
    stderr_tail: str
    seconds: float
    stopped: bool = False
    """Ended by the caller's ``stop`` event (SIGTERM: ffmpeg closes its outputs cleanly)."""




def run(
    args: Sequence[str], *, timeout_s: float, nice: int = 0, cwd: Path | None = None,
    on_progress: ProgressCallback | None = None, capture_stdout: bool = False,
    stop: threading.Event | None = None,
) -> RunResult:
    """Run ffmpeg/ffprobe; raise FfmpegFailed (non-zero exit) or FfmpegTimeout.

    With ``on_progress``, stdout must carry ffmpeg's ``-progress pipe:1`` key=value lines.
    Setting ``stop`` ends a run that has no natural end (a live input) cleanly: ffmpeg gets
    SIGTERM, writes what it has, and the run returns with ``stopped`` rather than failing.
    """
    started = time.monotonic()
    cmd = list(args)
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
            cwd=cwd, preexec_fn=child_setup(nice, os.getpid()), close_fds=True,
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout_s, kill)
        timer.daemon = True
        timer.start()
        stopped = threading.Event()
        if stop is not None:
            def terminate() -> None:
                while proc.poll() is None:
                    if stop.wait(0.2):
                        stopped.set()
                        proc.terminate()
                        return
            threading.Thread(target=terminate, name="ffmpeg-stop", daemon=True).start()
        try:
            out = _read_stdout(proc, on_progress, capture_stdout or on_progress is None)
            proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        tail = _tail(err)
    seconds = time.monotonic() - started
    if timed_out.is_set():
        log.error("ffmpeg timed out after %.0f s: %s\n%s", timeout_s, " ".join(cmd), tail)
        raise FfmpegTimeout(f"{cmd[0]} ran longer than {timeout_s:.0f} s", command=cmd,
                            stderr_tail=tail)
    if stopped.is_set():
        return RunResult(proc.returncode, out, tail, seconds, stopped=True)
    if proc.returncode != 0:
        log.error("ffmpeg exited %s: %s\n%s", proc.returncode, " ".join(cmd), tail)
        raise FfmpegFailed(f"{cmd[0]} exited with status {proc.returncode}", command=cmd,
                           stderr_tail=tail, returncode=proc.returncode)
    return RunResult(proc.returncode, out, tail, seconds)


def _read_stdout(proc: subprocess.Popen[bytes], on_progress: ProgressCallback | None,
                 keep: bool) -> bytes:
    assert proc.stdout is not None
    if on_progress is None:
        return proc.stdout.read() if keep else b""
    for line in proc.stdout:
        seconds = parse_progress_line(line)
        if seconds is not None:
            on_progress(seconds)
    return b""


def parse_progress_line(line: bytes) -> float | None:
    """Media seconds from an ``out_time_us=`` (or ``out_time_ms=``, also microseconds) line."""
    key, _, value = line.strip().partition(b"=")
    if key not in (b"out_time_us", b"out_time_ms"):
        return None
    try:
        us = int(value)
    except ValueError:
        return None  # "N/A" before the first frame
    return max(0.0, us / 1_000_000)


def _tail(fh: IO[bytes]) -> str:
    fh.seek(0, os.SEEK_END)
    fh.seek(max(0, fh.tell() - STDERR_TAIL_BYTES))
    return fh.read().decode("utf-8", "replace")
