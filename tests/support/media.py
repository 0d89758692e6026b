"""Test media made on the fly with ffmpeg's lavfi sources (nothing large is committed)."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path


def make_clip(path: Path, *, width: int = 320, height: int = 180, seconds: float = 3,
              fps: int = 25, audio: bool = True, vcodec: str = "libx264",
              container_args: tuple[str, ...] = ()) -> Path:
    """A test pattern with a moving counter (and a tone), encoded fast."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    args += ["-c:v", vcodec, "-pix_fmt", "yuv420p"]
    if vcodec == "libx264":
        args += ["-preset", "ultrafast", "-g", str(fps)]
    if audio:
        args += ["-c:a", "aac", "-b:a", "96k"]
    args += [*container_args, str(path)]
    subprocess.run(args, check=True, timeout=300)
    return path


def probe_stream(url: str) -> dict[str, float]:
    """Decode a whole HLS URL (or file) with ffmpeg; width/height/duration of what was decoded."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=width,height", "-show_entries", "format=duration", "-of",
         "default=noprint_wrappers=1", url],
        check=True, capture_output=True, text=True, timeout=120).stdout
    values = dict(line.split("=", 1) for line in out.split() if "=" in line)
    return {k: float(v) for k, v in values.items() if v not in ("N/A", "")}


def decoded_seconds(url: str) -> float:
    """Seconds of video actually decoded from ``url`` (every segment fetched and decoded)."""
    res = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", url, "-map", "0:v:0",
         "-f", "null", "-progress", "pipe:1", "-"],
        check=True, capture_output=True, text=True, timeout=600)
    last = 0.0
    for line in res.stdout.splitlines():
        if line.startswith("out_time_us="):
            with contextlib.suppress(ValueError):  # "N/A" before the first frame
                last = int(line.split("=", 1)[1]) / 1e6
    return last
