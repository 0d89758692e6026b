"""Live publishing for tests: ffmpeg pushes a generated source (`-re`: real time) over RTMP or
SRT, and a real nginx-rtmp takes it, configured as `podium up` configures it."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path

DRAWTEXT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def source_args(seconds: float, height: int = 240, speech: Path | None = None) -> list[str]:
    """A test pattern with a burnt-in wall clock (when a font is there) and a tone or
    ``speech`` (a WAV), at ``height`` lines, 25 fps, read in real time."""
    width = height * 16 // 9 // 2 * 2
    video = f"testsrc2=s={width}x{height}:r=25:d={seconds:g}"
    if DRAWTEXT_FONT.is_file():
        video += (f",drawtext=fontfile={DRAWTEXT_FONT}:text='%{{localtime\\:%T}}'"
                  ":fontcolor=white:fontsize=24:x=8:y=8:box=1:boxcolor=black")
    args = ["-re", "-f", "lavfi", "-i", video]
    if speech is not None:
        args += ["-re", "-i", str(speech)]
    else:
        args += ["-re", "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:d={seconds:g}"]
    return [*args, "-t", f"{seconds:g}"]


def encode_args() -> list[str]:
    return ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-ar", "48000"]


def publish(url: str, seconds: float, log: Path, height: int = 240,
            speech: Path | None = None, extra: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """ffmpeg publishing to an `rtmp://` (FLV) or `srt://` (MPEG-TS) URL until ``seconds``."""
    fmt = ["-f", "flv"] if url.startswith("rtmp") else ["-f", "mpegts"]
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning",
            *source_args(seconds, height, speech), *encode_args(), *extra, *fmt, url]
    with log.open("ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def publish_garbage(url: str, log: Path) -> subprocess.Popen[bytes]:
    """Random bytes as the video of an FLV stream: a publisher that connects and sends junk."""
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning", "-re",
            "-f", "rawvideo", "-pix_fmt", "gray", "-s", "64x64", "-r", "25",
            "-i", "/dev/urandom", "-t", "20", "-c:v", "copy", "-f", "flv", url]
    with log.open("ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
