"""Playlist serving, side by side: requests per second and p99 of `/healthz`, a VOD master and
media playlist, and a channel's live master and media playlist, in the same run; then the cost
of computing one live media playlist with 5 and with 5,000 items in the queue.

    .venv/bin/python bench/channels.py [--url http://127.0.0.1:8000] [--seconds 10]
                                       [--connections 50] [--pure-only]

Against a running stack (`podium up`; the key is read from var/api-key or PODIUM_API_KEY): it
uploads a short generated clip, waits until it is ready, queues it in a channel and starts it.
The load comes from wrk (`apt-get install wrk`) when installed, else from Python threads
(a much weaker client); both run on the same machine, so compare the rows with each other.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.channels import editing  # noqa: E402
from ingest.channels.models import (  # noqa: E402
    AssetMedia,
    Channel,
    ChannelMode,
    Item,
)
from ingest.channels.playlists import media_playlist  # noqa: E402
from ingest.channels.schedule import Timeline  # noqa: E402
from ingest.media.ladder import Rendition  # noqa: E402


def pure_cost(items: int, runs: int = 2000) -> float:
    """Microseconds to compute and render one live media playlist (timeline compiled once)."""
    rendition = Rendition(name="720p", width=1280, height=720, fps=25, video_kbps=2800,
                          maxrate_kbps=3080, bufsize_kbps=5600, audio_kbps=128, level="3.1",
                          bandwidth=3_000_000, codecs="avc1.64001f,mp4a.40.2")
    channel = Channel(id="ch-0000000000000001", name="bench", mode=ChannelMode.LOOP,
                      window_s=60, slate_asset_id="as-5afe000000000000")
    for aid, n in (("as-a000000000000000", 15), ("as-5afe000000000000", 2)):
        channel.media[aid] = AssetMedia(asset_id=aid, durations=[4.0] * n,
                                        renditions=[rendition])
    channel.items = [Item(id=f"it-{n:016x}", asset_id="as-a000000000000000")
                     for n in range(items)]
    start = 1_800_000_000.0
    editing.start(channel, start)
    timeline = Timeline(channel)
    timeline.window(start + 86_400)  # compile
    began = time.perf_counter()
    for k in range(runs):
        window = timeline.window(start + 86_400 + k * 3.7)
        media_playlist(window, target_duration=4, next_seq=0, next_disc=0,
                       uri=lambda s: f"{s.asset_id}/{s.index}.ts")
    return (time.perf_counter() - began) / runs * 1e6


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: float, connections: int) -> tuple[float, float, int]:
    """The same figures from wrk (2 threads), which the issue's reference numbers used."""
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency",
                          url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, float(value) * _UNITS[unit], int(bad.group(1)) if bad else 0


def load(url: str, seconds: float, connections: int) -> tuple[float, float, int]:
    """Requests per second, p99 in ms and non-2xx/3xx answers, ``connections`` threads."""
    if shutil.which("wrk"):
        return wrk(url, seconds, connections)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        mine: list[float] = []
        bad = 0
        with httpx.Client(timeout=10) as client:
            while time.monotonic() < deadline:
                began = time.perf_counter()
                status = client.get(url).status_code
                mine.append(time.perf_counter() - began)
                bad += status >= 400
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000 if len(latencies) > 100 else 0.0
    return len(latencies) / seconds, p99, errors[0]


def prepare(base: str, key: str) -> dict[str, str]:
    """A ready asset and a channel on air; the playlist URLs to measure."""
    headers = {"Authorization": f"Bearer {key}"}
    with tempfile.TemporaryDirectory() as tmp, httpx.Client(base_url=base, headers=headers,
                                                            timeout=120) as c:
        clip = Path(tmp) / "bench.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                        "testsrc2=size=640x360:rate=25:duration=20", "-f", "lavfi", "-i",
                        "sine=duration=20", "-c:v", "libx264", "-preset", "ultrafast",
                        "-c:a", "aac", str(clip)], check=True)
        with clip.open("rb") as fh:
            asset_id = c.post("/v1/assets", data={"title": "bench", "captions": "none"},
                              files={"file": ("bench.mp4", fh)}).json()["id"]
        while (asset := c.get(f"/v1/assets/{asset_id}").json())["status"] not in (
                "ready", "errored"):
            time.sleep(1)
        assert asset["status"] == "ready", asset
        channel = c.post("/v1/channels", json={"name": "bench", "mode": "loop",
                                               "slate_asset_id": asset_id}).json()
        cid = channel["id"]
        c.post(f"/v1/channels/{cid}/items", json={"asset_id": asset_id})
        c.post(f"/v1/channels/{cid}/start")
        time.sleep(5)
        play = c.get(f"/play/{asset_id}.m3u8").text
        live = c.get(f"/live/{cid}.m3u8").text
    first = next(line for line in play.splitlines() if line.startswith("http"))
    live_first = next(line for line in live.splitlines() if line.startswith("http"))
    return {"/healthz": f"{base}/healthz", "VOD master": f"{base}/play/{asset_id}.m3u8",
            "VOD media": first, "live master": f"{base}/live/{cid}.m3u8",
            "live media": live_first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("PODIUM_PUBLIC_URL",
                                                        "http://127.0.0.1:8000"))
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--pure-only", action="store_true")
    args = parser.parse_args()
    print("live media playlist, computed and rendered (window 60 s):")
    for items in (5, 5000):
        print(f"  {items:>5} items: {pure_cost(items):8.1f} µs per playlist")
    if args.pure_only:
        return
    key = os.environ.get("PODIUM_API_KEY") or (ROOT / "var" / "api-key").read_text().strip()
    urls = prepare(args.url.rstrip("/"), key)
    rows = [(name, *load(url, args.seconds, args.connections)) for name, url in urls.items()]
    healthz = rows[0][1] or 1.0
    print(f"\n{'endpoint':<12} {'req/s':>8} {'x healthz':>10} {'p99 ms':>8} {'errors':>7}")
    for name, rps, p99, errors in rows:
        print(f"{name:<12} {rps:8.0f} {rps / healthz:10.2f} {p99:8.1f} {errors:7d}")


if __name__ == "__main__":
    main()
