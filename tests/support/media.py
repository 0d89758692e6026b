"""Test media made on the fly with ffmpeg's lavfi sources (nothing large is committed)."""

from __future__ import annotations

import contextlib
import os
import struct
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


def _boxes(data: bytes | bytearray, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, offset, size) of the ISO-BMFF boxes between ``start`` and ``end`` (32-bit sizes)."""
    out = []
    while start < end:
        size, kind = struct.unpack(">I4s", data[start:start + 8])
        out.append((bytes(kind), start, size))
        start += size
    return out


def make_cover_first_mp4(path: Path, *, seconds: float = 3, cover_size: int = 4000) -> Path:
    """An MP4 whose FIRST video stream is a large cover picture (PNG, attached_pic) and whose
    second is a small real video (320x180 with a tone).

    ffmpeg writes the cover (`covr` in `moov/udta`) after the tracks; moving `udta` before the
    `trak` boxes (same bytes, same sizes, so every chunk offset stays valid) makes demuxers list
    the cover first, as some tools write it.
    """
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    cover = path.with_suffix(".cover.png")
    video = make_clip(path.with_suffix(".video.mp4"), seconds=seconds)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"color=red:size={cover_size}x{cover_size}", "-frames:v", "1", str(cover)],
                   check=True, timeout=120)
    plain = path.with_suffix(".plain.mp4")
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(cover),
                    "-i", str(video), "-map", "0", "-map", "1:v", "-map", "1:a", "-c", "copy",
                    "-disposition:v:0", "attached_pic", "-disposition:v:1", "default",
                    str(plain)], check=True, timeout=120)
    data = bytearray(plain.read_bytes())
    for kind, offset, size in _boxes(data, 0, len(data)):
        if kind == b"moov":
            children = _boxes(data, offset + 8, offset + size)
            order = sorted(children, key=lambda c: {b"mvhd": 0, b"udta": 1}.get(c[0], 2))
            data[offset + 8:offset + size] = b"".join(data[o:o + s] for _, o, s in order)
    path.write_bytes(bytes(data))
    return path


def make_two_audio_tracks(path: Path, *, seconds: float = 3) -> Path:
    """A clip with one video and TWO audio tracks (440 Hz, then 880 Hz)."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate=25:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=880:sample_rate=48000:duration={seconds}",
                    "-map", "0:v", "-map", "1:a", "-map", "2:a",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "96k", str(path)], check=True, timeout=300)
    return path


def make_sparse_clip(path: Path, *, frames: int = 10, stretch: int = 125) -> Path:
    """A tiny clip that claims far more than it holds: ``frames`` frames at a claimed 25 fps
    whose timestamps are stretched ``stretch`` times (setts bitstream filter), so the container
    says about ``frames * stretch / 25`` seconds of 25 fps video (10 x 125: ~45 s) while it
    holds ``frames`` packets. A transcode would fill the gaps frame by frame."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    dense = path.with_suffix(".dense.mkv")
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=25", "-frames:v", str(frames),
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-g", str(frames), str(dense)], check=True, timeout=120)
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(dense),
                    "-c", "copy", "-bsf:v", f"setts=ts=TS*{stretch}", str(path)],
                   check=True, timeout=120)
    return path


def make_fake_mp4(path: Path, size: int) -> Path:
    """``size`` bytes: an MP4 signature then random bytes. It passes the container sniff (a
    first part is all an upload route looks at), and no two files hold the same bytes."""
    if not path.exists() or path.stat().st_size != size:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            fh.write(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2")
            left = size - 24
            while left:
                block = os.urandom(min(left, 8 * 1024 * 1024))
                fh.write(block)
                left -= len(block)
    return path
