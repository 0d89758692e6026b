"""Upload-to-ready time of a 1080p30 clip through the whole stack, against the same ladder run
as one plain ffmpeg command (the limit), measured in the same process one after the other;
and time to first playable: from the end of the upload to the first frame decoded from
`/play/{id}.m3u8` by ffmpeg while the asset is still encoding, against the time to ready.

    .venv/bin/python bench/transcode.py [--seconds 60] [--runs 1]

Starts its own Redis (if none answers), SeaweedFS, API and one worker on loopback ports.
Prints each time, the ratio podium / plain ffmpeg (1.00 would mean zero overhead) and the
ratio first frame / ready (both counted from the end of the upload; issue 11 asks <= 0.3).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import BenchStack  # noqa: E402
from config import Settings  # noqa: E402
from ingest.media import commands, ladder  # noqa: E402


def make_source(path: Path, seconds: int) -> Path:
    """The bench clip at ``path``, made once; written under a temporary name first, so an
    interrupted run leaves no truncated clip for the next run to reuse."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial.mp4")
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
             "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
             "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
             "-c:a", "aac", str(partial)], check=True)
        partial.replace(path)
    return path


def plain_ffmpeg(source: Path, s: Settings) -> float:
    """The same one-pass ladder command Podium builds, run directly on local disk."""
    plans = ladder.select_renditions(1920, 1080, 30.0, True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for p in plans:
            (out / p.name).mkdir()
        # the bench clip as made above: video is stream 0, audio stream 1
        args = commands.hls_ladder_command(source, "mov", out, plans, video_stream=0,
                                           audio_stream=1, segment_s=s.segment_duration_s,
                                           preset=s.x264_preset, threads=s.ffmpeg_threads)
        started = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started


def first_frame(url: str) -> bool:
    """Whether ffmpeg decodes a first video frame from the HLS URL (as a player would start)."""
    res = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", url,
                          "-map", "0:v:0", "-frames:v", "1", "-f", "null", "-"],
                         capture_output=True, timeout=120)
    return res.returncode == 0


def podium(source: Path, env: dict[str, str], api: str,
           key: str) -> tuple[float, float, float | None]:
    """Seconds from the start of the upload to `ready`, the upload's own share, and from the
    start of the upload to the first frame decoded while still preparing (None: not seen)."""
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {key}"},
                      timeout=600) as c, source.open("rb") as fh:
        started = time.perf_counter()
        resp = c.post("/v1/assets", files={"file": (source.name, fh)}, data={"title": "bench"})
        uploaded = time.perf_counter() - started
        resp.raise_for_status()
        asset_id = resp.json()["id"]
        frame_at = None
        while True:
            body = c.get(f"/v1/assets/{asset_id}").json()
            if body["status"] in ("ready", "errored"):
                break
            if frame_at is None and body.get("playable") and first_frame(body["playback"]["hls"]):
                frame_at = time.perf_counter() - started
                if c.get(f"/v1/assets/{asset_id}").json()["status"] != "preparing":
                    frame_at = None  # decoded a finished asset: not what is measured here
            time.sleep(0.1)
        total = time.perf_counter() - started
        if body["status"] != "ready":
            raise SystemExit(f"asset errored: {body['error']}")
        c.delete(f"/v1/assets/{asset_id}")
        return total, uploaded, frame_at


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podium-bench-"))
    source = make_source(ROOT / "bench" / "out" / f"src-1080p30-{args.seconds}s.mp4", args.seconds)
    stack: BenchStack | None = None
    try:
        stack = BenchStack.start(work, worker=True)
        env, api, key = stack.env, stack.api, stack.key
        settings = Settings()
        size_mb = source.stat().st_size / 1e6
        print(f"source: {source.name}, {size_mb:.0f} MB, ladder 1080p/720p/480p/360p "
              f"+ AAC, preset {settings.x264_preset}, {os.cpu_count()} cores")
        for run in range(1, args.runs + 1):
            base = plain_ffmpeg(source, settings)
            total, upload, frame = podium(source, env, api, key)
            print(f"run {run}: plain ffmpeg {base:6.1f} s | podium upload->ready {total:6.1f} s "
                  f"(upload {upload:.1f} s) | ratio {total / base:.2f} | "
                  f"{args.seconds / total:.2f}x real time")
            if frame is None:
                print(f"run {run}: no frame decoded before ready")
            else:
                first, ready = frame - upload, total - upload
                print(f"run {run}: after the upload: first frame {first:5.1f} s | ready "
                      f"{ready:5.1f} s | first frame / ready {first / ready:.2f}")
    finally:
        if stack is not None:
            stack.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
