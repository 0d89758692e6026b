"""Playlist serving, side by side: requests per second and p99 of `/healthz`, a VOD master and
media playlist, and a channel's live master and media playlist, in the same run; then the cost
of computing one live media playlist with 5 and with 5,000 items in the queue.

    .venv/bin/python bench/channels.py [--url http://127.0.0.1:8000] [--seconds 10]
                                       [--rounds 3] [--connections 50] [--pure-only]
                                       [--asset ID --channel ID]

Against a running stack (`podium up`; the key is read from PODIUM_API_KEY, else
$PODIUM_DATA_DIR/api-key, default var/api-key): it
uploads a short generated clip, waits until it is ready, queues it in a channel and starts it
(or measures the ready asset and the channel on air given with --asset and --channel).
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


def prepare(base: str, key: str) -> tuple[str, str]:
    """A ready asset and a channel on air (their ids)."""
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
    return asset_id, cid


def playlist_urls(base: str, asset_id: str, cid: str) -> dict[str, str]:
    """The URLs to measure: /healthz, the asset's and the channel's playlists."""
    play = httpx.get(f"{base}/play/{asset_id}.m3u8", timeout=30).text
    live = httpx.get(f"{base}/live/{cid}.m3u8", timeout=30).text
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
    parser.add_argument("--rounds", type=int, default=3,
                        help="each endpoint is measured once per round, rounds interleaved")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--pure-only", action="store_true")
    parser.add_argument("--asset", help="a ready asset to measure (instead of a new one)")
    parser.add_argument("--channel", help="a channel on air to measure (with --asset)")
    args = parser.parse_args()
    print("live media playlist, computed and rendered (window 60 s):")
    for items in (5, 5000):
        print(f"  {items:>5} items: {pure_cost(items):8.1f} µs per playlist")
    if args.pure_only:
        return
    data_dir = Path(os.environ.get("PODIUM_DATA_DIR", ROOT / "var"))
    key = os.environ.get("PODIUM_API_KEY") or (data_dir / "api-key").read_text().strip()
    base = args.url.rstrip("/")
    asset_id, cid = ((args.asset, args.channel) if args.asset and args.channel
                     else prepare(base, key))
    print(f"\nasset {asset_id}, channel {cid}; load average {_loadavg()}")
    urls = playlist_urls(base, asset_id, cid)
    for url in urls.values():  # every process renders what it holds before the clock runs
        for _ in range(8):
            httpx.get(url, timeout=30)
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in urls}
    ratios: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(args.rounds):  # interleaved: every row sees the same machine
        for name, url in urls.items():
            runs[name].append(load(url, args.seconds, args.connections))
            ratios[name].append(runs[name][-1][0] / (runs["/healthz"][-1][0] or 1.0))
    print(f"\nmedians of {args.rounds} interleaved rounds of {args.seconds:g} s, "
          f"{args.connections} connections; load average {_loadavg()}")
    print(f"{'endpoint':<12} {'req/s':>8} {'x healthz':>10} {'p99 ms':>8} {'worst p99':>10} "
          f"{'errors':>7}")
    for name, results in runs.items():
        rps = statistics.median(r[0] for r in results)
        p99s = [r[1] for r in results]
        print(f"{name:<12} {rps:8.0f} {statistics.median(ratios[name]):10.2f} "
              f"{statistics.median(p99s):8.1f} {max(p99s):10.1f} "
              f"{sum(r[2] for r in results):7d}")


def _loadavg() -> str:
    """The machine's load while measuring: rows of one run compare; runs on a busy machine
    do not compare with runs on a quiet one."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
