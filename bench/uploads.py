"""Resumable tus upload through the API against a direct boto3 upload of the same file to the
same storage, one after the other in one run, with the API process's peak RSS.

    .venv/bin/python bench/uploads.py [--mb 2048] [--chunk-mb 64] [--runs 1]

Starts its own Redis (if none answers), SeaweedFS and one API process on loopback ports. The
direct upload is boto3's managed multipart upload (`Storage.put_file`, 8 MiB parts, its
default thread pool); the tus upload is the real `tuspy` client, one PATCH per chunk.
Prints both throughputs, their ratio (tus / direct) and the API's RSS before and at its peak.
"""

from __future__ import annotations

import argparse
import os
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
        print(f"file: {size / MiB:.0f} MiB random bytes; tus chunks of {args.chunk_mb} MiB; "
              f"{os.cpu_count()} cores; SeaweedFS on loopback")
        for run in range(1, args.runs + 1):
            t0 = time.perf_counter()
            storage.put_file(f"bench/direct-{run}", source, "application/octet-stream")
            direct = time.perf_counter() - t0
            with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {key}"}) as c:
                slot = c.post("/v1/uploads", json={"title": "bench", "speaker": "bench"}).json()
            before = rss_bytes(api_pid)
            with RssSampler(api_pid) as peak:
                t0 = time.perf_counter()
                tus_client.TusClient(slot["tus_endpoint"]).uploader(
                    file_path=str(source), chunk_size=args.chunk_mb * MiB).upload()
                tus = time.perf_counter() - t0
            print(f"run {run}: direct boto3 {size / MiB / direct:6.1f} MiB/s ({direct:.1f} s) | "
                  f"tus via API {size / MiB / tus:6.1f} MiB/s ({tus:.1f} s) | "
                  f"ratio {direct / tus:.2f} | API RSS {before / MiB:.0f} MiB before, "
                  f"peak {peak.peak / MiB:.0f} MiB")
    finally:
        if stack is not None:
            stack.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
