"""The per-title analysis encode: its exact command, and on real ffmpeg, that a still picture
needs fewer bits than a moving pattern at the same constant quality."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ingest.media import complexity
from ingest.media.commands import complexity_probe_command
from ingest.media.ladder import select_renditions
from tests.support.media import make_clip

PLANS = select_renditions(320, 180, 25, False)


def test_complexity_probe_command() -> None:
    plans = select_renditions(1280, 720, 25, True)[:2]  # 720p and 480p
    args = complexity_probe_command(
        Path("/w/src"), "mov", Path("/w/out"), plans, [(8.0, 4.0), (28.0, 4.0)],
        video_stream=1, crf=22.5, preset="veryfast", segment_s=4, threads=0)
    window = ["-protocol_whitelist", "file", "-f", "mov", "-i", "file:/w/src"]
    encode = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "22.5", "-profile:v", "high",
              "-g", "100", "-keyint_min", "100", "-sc_threshold", "0",
              "-force_key_frames", "expr:gte(t,n_forced*4)", "-threads", "0", "-an", "-f", "h264"]
    assert args == [
        "ffmpeg", "-hide_banner", "-nostdin", "-y", "-nostats",
        "-ss", "8", "-t", "4", *window, "-ss", "28", "-t", "4", *window,
        "-filter_complex",
        "[0:1][1:1]concat=n=2:v=1:a=0,split=2[s0][s1];"
        "[s0]fps=25,scale=1280:720:flags=bicubic,setsar=1,format=yuv420p[v0];"
        "[s1]fps=25,scale=854:480:flags=bicubic,setsar=1,format=yuv420p[v1]",
        "-map", "[v0]", *encode, "/w/out/720p.h264",
        "-map", "[v1]", *encode, "/w/out/480p.h264",
    ]


def _still_clip(path: Path) -> Path:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", "smptebars=size=320x180:rate=25:duration=3", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)],
                   check=True, timeout=120)
    return path


def test_still_picture_needs_fewer_bits_than_motion(tmp_path: Path) -> None:
    moving = make_clip(tmp_path / "moving.mp4", seconds=3, audio=False)
    still = _still_clip(tmp_path / "still.mp4")

    def needed(src: Path) -> float:
        kbps = complexity.needed_kbps(
            src, "mov", PLANS, duration_s=3.0, video_stream=0, crf=23, preset="ultrafast",
            segment_s=1, samples=2, threads=1, nice=0, timeout_s=120, work_dir=tmp_path)
        assert list(kbps) == ["180p"]
        assert not (tmp_path / "complexity").exists(), "the sample encodes are removed"
        return kbps["180p"]

    hard, easy = needed(moving), needed(still)
    assert 0 < easy < hard / 4
