"""Resumable tus upload through the API against a direct boto3 upload of the same file to the
same storage, one after the other in one run, with the API process's peak RSS.

    .venv/bin/python bench/uploads.py [--mb 2048] [--chunk-mb 64] [--runs 1]

Starts its own Redis (if none answers), SeaweedFS and one API process on loopback ports. The
direct upload is boto3's managed multipart upload (`Storage.put_file`, 8 MiB parts, its
default thread pool); the tus upload is the real `tuspy` client, one PATCH per chunk.
Prints both throughputs, their ratio (tus / direct), the API's RSS before and at its peak, and
the CPU seconds each path cost per GiB (this process's client, the API, SeaweedFS): on a shared
machine the throughputs move with the load, the CPU cost much less. Runs alternate which path
goes first; `--chunk-mb 0` sends the whole file in one PATCH (tuspy's and tus-js-client's
default).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
from tusclient import client as tus_client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import BenchStack, MiB  # noqa: E402
from tests.support.media import make_fake_mp4  # noqa: E402
from tests.support.procs import RssSampler, rss_bytes  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU seconds this process, the API and the store spend inside a ``with`` block."""

    def __init__(self, api_pid: int, store_pid: int) -> None:
        self.pids = {"api": api_pid, "store": store_pid}
        self.used: dict[str, float] = {}

    def __enter__(self) -> CpuMeter:
        self._start = {"client": own_cpu_s(), **{k: cpu_s(p) for k, p in self.pids.items()}}
        return self

    def __exit__(self, *exc: object) -> None:
        end = {"client": own_cpu_s(), **{k: cpu_s(p) for k, p in self.pids.items()}}
        self.used = {k: end[k] - self._start[k] for k in end}

    def per_gib(self, size: int) -> str:
        gib = size / (1024 * MiB)
        parts = " + ".join(f"{k} {v / gib:.1f}" for k, v in self.used.items())
        return f"{sum(self.used.values()) / gib:.1f} CPU s/GiB ({parts})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=2048)
    parser.add_argument("--chunk-mb", type=int, default=64)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podium-bench-uploads-"))
    source = make_fake_mp4(ROOT / "bench" / "out" / f"random-{args.mb}m.mp4", args.mb * MiB)
    stack: BenchStack | None = None
    try:
        stack = BenchStack.start(work, PODIUM_MAX_UPLOAD_BYTES=str(8 * 1024**3))
        api, key, api_pid = stack.api, stack.key, stack.api_pid
        storage = stack.storage()
        size = source.stat().st_size
        print(f"file: {size / MiB:.0f} MiB random bytes; tus chunks of "
              f"{args.chunk_mb or 'the whole file'} MiB; "
              f"{os.cpu_count()} cores; SeaweedFS on loopback")
        store_pid = stack.services[-1].proc.pid
        chunk = args.chunk_mb * MiB if args.chunk_mb else size
        for run in range(1, args.runs + 1):
            with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {key}"}) as c:
                slot = c.post("/v1/uploads", json={"title": "bench", "speaker": "bench"}).json()
            before = rss_bytes(api_pid)
            times: dict[str, float] = {}
            meters = {name: CpuMeter(api_pid, store_pid) for name in ("direct", "tus")}
            for name in (("direct", "tus") if run % 2 else ("tus", "direct")):
                with meters[name], RssSampler(api_pid) as peak:
                    t0 = time.perf_counter()
                    if name == "direct":
                        storage.put_file(f"bench/direct-{run}", source, "application/octet-stream")
                    else:
                        tus_client.TusClient(slot["tus_endpoint"]).uploader(
                            file_path=str(source), chunk_size=chunk).upload()
                    times[name] = time.perf_counter() - t0
                if name == "tus":
                    tus_peak = peak.peak
            direct, tus = times["direct"], times["tus"]
            print(f"run {run}: direct boto3 {size / MiB / direct:6.1f} MiB/s ({direct:.1f} s) | "
                  f"tus via API {size / MiB / tus:6.1f} MiB/s ({tus:.1f} s) | "
                  f"ratio {direct / tus:.2f} | API RSS {before / MiB:.0f} MiB before, "
                  f"peak {tus_peak / MiB:.0f} MiB | load {os.getloadavg()[0]:.1f}")
            print(f"       direct {meters['direct'].per_gib(size)} | "
                  f"tus {meters['tus'].per_gib(size)}", flush=True)
    finally:
        if stack is not None:
            stack.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
