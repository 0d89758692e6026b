"""The one ffmpeg runner, against real ffmpeg: errors, timeouts, progress, death with parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ingest.errors import FfmpegFailed, FfmpegTimeout
from ingest.media import ffmpeg as runner
from tests.support.wait import wait_until

ROOT = Path(__file__).resolve().parents[3]
# -re reads the endless source at its native rate, so these runs cost almost no CPU.
ENDLESS = ["ffmpeg", "-hide_banner", "-nostdin", "-re", "-f", "lavfi",
           "-i", "testsrc=size=64x64:rate=5", "-f", "null", "-"]


def _stat(pid: int) -> tuple[int, str, str] | None:
    """(ppid, state, comm) of a live process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    state, ppid = raw[raw.rindex(")") + 2:].split()[:2]
    return int(ppid), state, comm


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[1] not in ("Z", "X")


def _ffmpeg_children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat and stat[0] == parent and stat[2] == "ffmpeg":
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize(("line", "seconds"), [
    (b"out_time_us=1500000\n", 1.5),
    (b"out_time_ms=2000000", 2.0),  # ffmpeg's out_time_ms is microseconds too
    (b"  out_time_us=0  \n", 0.0),
    (b"out_time_us=-23220\n", 0.0),  # negative before the first audio frame
    (b"out_time_us=N/A\n", None),
    (b"out_time=00:00:01.500000\n", None),
    (b"frame=25\n", None),
    (b"progress=end\n", None),
    (b"", None),
    (b"out_time_us", None),
])
def test_parse_progress_line(line: bytes, seconds: float | None) -> None:
    assert runner.parse_progress_line(line) == seconds


def test_failure_carries_command_and_stderr_tail(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-input.mp4"
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-i", f"file:{missing}", "-f", "null", "-"]
    with pytest.raises(FfmpegFailed) as err:
        runner.run(cmd, timeout_s=30)
    exc = err.value
    assert type(exc) is FfmpegFailed
    assert exc.command == cmd
    assert exc.returncode is not None and exc.returncode > 0
    assert not exc.killed_by_signal
    assert "No such file or directory" in exc.stderr_tail
    text = str(exc)
    assert " ".join(cmd) in text
    assert "No such file or directory" in text


def test_stderr_tail_keeps_the_end_and_is_bounded() -> None:
    # showinfo logs one long line per frame: ~15 kB of stderr for 50 frames.
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-f", "lavfi",
           "-i", "testsrc=size=64x64:rate=25:duration=2", "-vf", "showinfo", "-f", "null", "-"]
    tail = runner.run(cmd, timeout_s=30).stderr_tail
    assert len(tail) <= runner.STDERR_TAIL_BYTES
    assert len(tail) > runner.STDERR_TAIL_BYTES // 2
    assert "n:  49" in tail and "n:   0" not in tail


def test_timeout_kills_ffmpeg() -> None:
    started = time.monotonic()
    with pytest.raises(FfmpegTimeout) as err:
        runner.run(ENDLESS, timeout_s=1)
    assert time.monotonic() - started < 5
    assert err.value.code == "ffmpeg_timeout"
    assert err.value.command == ENDLESS
    assert _ffmpeg_children(os.getpid()) == []


def test_progress_increases_to_the_duration() -> None:
    seen: list[float] = []
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-re", "-f", "lavfi",
           "-i", "testsrc=size=64x64:rate=25:duration=1.5", "-f", "null", "-",
           "-progress", "pipe:1", "-nostats", "-stats_period", "0.1"]
    result = runner.run(cmd, timeout_s=30, on_progress=seen.append)
    assert result.returncode == 0
    assert len(seen) >= 3
    assert seen == sorted(seen)
    assert seen[0] < seen[-1]
    assert seen[-1] == pytest.approx(1.5, abs=0.1)


def test_capture_stdout() -> None:
    cmd = ["ffprobe", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:duration=0.2",
           "-show_entries", "stream=width,height", "-of", "csv=p=0"]
    assert runner.run(cmd, timeout_s=30, capture_stdout=True).stdout.strip() == b"64,48"


def test_ffmpeg_dies_with_the_process_that_started_it() -> None:
    """PR_SET_PDEATHSIG: a worker killed with SIGKILL leaves no ffmpeg behind."""
    script = ("import sys; from ingest.media.ffmpeg import run; "
              f"run({ENDLESS!r}, timeout_s=120)")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:

        def ffmpeg_started() -> list[int]:
            assert parent.poll() is None, "the python parent exited early"
            return _ffmpeg_children(parent.pid)

        (child,) = wait_until(ffmpeg_started, 20, 0.05, "ffmpeg to start")
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
        wait_until(lambda: not _alive(child), 2, 0.05, "ffmpeg to die with its parent")
        assert not _alive(child), f"ffmpeg {child} outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in _ffmpeg_children(parent.pid):  # never ours to leave behind
            os.kill(pid, signal.SIGKILL)


def test_stop_ends_a_live_run_cleanly(tmp_path: Path) -> None:
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    started = time.monotonic()
    result = runner.run(["ffmpeg", "-hide_banner", "-nostdin", "-re", "-f", "lavfi", "-i",
                         "testsrc2=s=64x64:r=10", "-f", "mpegts", str(tmp_path / "out.ts")],
                        timeout_s=30, stop=stop)
    assert result.stopped
    assert time.monotonic() - started < 10
    assert (tmp_path / "out.ts").stat().st_size > 0
