"""One long video over many workers: upload-to-ready of a 1080p30 clip (3 minutes by default)
with two RQ workers pinned to one core each (`taskset`), chunked transcode on, against one
worker pinned to one core, in the same process one after the other.

    .venv/bin/python bench/chunks.py [--seconds 180] [--chunk 16] [--runs 1]

Each configuration gets fresh workers (same stack: Redis, SeaweedFS, the API):
  single    1 worker on core 0, chunking off: the one-pass ladder (what one worker does best)
  chunked1  1 worker on core 0, chunking on (the same jobs as below, one after the other)
  chunked2  2 workers on cores 0 and 1, chunking on
and prints the times from the end of the upload to `ready`, the ratios single / chunked2
(issue 11 asks >= 1.7) and chunked1 / chunked2, the wall-clock time of each job kind (from
RQ's job records: the split, each chunk, the audio, the stitch, publish) and the CPU seconds
of each ffmpeg run (from the workers' logs; unlike wall-clock times, they hardly move with
the machine's load). docs/benchmarks.md
derives the curve for 10-100 workers from those costs. Per-title bit rates are off in every
configuration (their analysis is one serial step before either path; see "Quality per bit").
The machine must be otherwise idle for the ratio to mean anything: the load average is
printed before and after each configuration.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import BenchStack  # noqa: E402
from bench.transcode import make_source  # noqa: E402
from ingest.media.chunk_plan import plan_chunks  # noqa: E402


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def start_workers(env: dict[str, str], cores: list[int],
                  log: Path) -> list[subprocess.Popen[bytes]]:
    """One `podium worker` per core, pinned to it with taskset (its ffmpeg children inherit
    the affinity)."""
    with log.open("ab") as out:
        return [subprocess.Popen(["taskset", "-c", str(core), sys.executable, "-m", "cli.main",
                                  "worker"], cwd=ROOT, env=env, stdout=out,
                                 stderr=subprocess.STDOUT) for core in cores]


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def job_seconds(conn: Redis, jid: str) -> float | None:
    try:
        job = Job.fetch(jid, connection=conn, serializer=JSONSerializer)
    except NoSuchJobError:  # a job this configuration does not make (no chunks)
        return None
    if job.started_at is None or job.ended_at is None:
        return None
    return (job.ended_at - job.started_at).total_seconds()


def upload_and_wait(api: str, key: str, source: Path) -> tuple[str, float]:
    """Upload, then seconds from the end of the upload to `ready`."""
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {key}"},
                      timeout=600) as c, source.open("rb") as fh:
        resp = c.post("/v1/assets", files={"file": (source.name, fh)}, data={"title": "bench",
                                                                             "captions": "none"})
        uploaded = time.perf_counter()
        resp.raise_for_status()
        asset_id = resp.json()["id"]
        while True:
            body = c.get(f"/v1/assets/{asset_id}").json()
            if body["status"] in ("ready", "errored"):
                break
            time.sleep(0.2)
        if body["status"] != "ready":
            raise SystemExit(f"asset errored: {body['error']}")
        return asset_id, time.perf_counter() - uploaded


def costs(conn: Redis, asset_id: str, chunks: int) -> dict[str, list[float]]:
    """Seconds each job of the asset ran (RQ's started_at/ended_at)."""
    found: dict[str, list[float]] = {}
    for kind, ids in (("transcode", [f"transcode-{asset_id}"]),
                      ("chunk", [f"chunk-{asset_id}-{i:05d}" for i in range(chunks)]),
                      ("audio", [f"audio-{asset_id}"]), ("stitch", [f"stitch-{asset_id}"]),
                      ("publish", [f"publish-{asset_id}"])):
        seconds = [s for s in (job_seconds(conn, j) for j in ids) if s is not None]
        if seconds:
            found[kind] = seconds
    return found


CPU_LINE = re.compile(r"(chunk \d+ of|audio of|stitch|transcode) (as-[0-9a-f]+).*"
                      r"ffmpeg cpu ([0-9.]+) s")


def ffmpeg_cpu(log: Path, asset_id: str) -> dict[str, list[float]]:
    """CPU seconds of each ffmpeg run the workers logged for the asset, by job kind: the cost
    of the work whatever else the machine was doing."""
    found: dict[str, list[float]] = {}
    for match in CPU_LINE.finditer(log.read_text(errors="replace")):
        if match.group(2) == asset_id:
            found.setdefault(match.group(1).split()[0], []).append(float(match.group(3)))
    return found


def run(stack: BenchStack, source: Path, name: str, cores: list[int], chunked: bool,
        seconds: int, chunk_s: int) -> float:
    env = {**stack.env, "PODIUM_CHUNKED_MIN_DURATION_S": "1" if chunked else "0",
           "PODIUM_CHUNK_DURATION_S": str(chunk_s)}
    print(f"{name}: load before {loadavg()}", flush=True)
    workers = start_workers(env, cores, stack.work / f"workers-{name}.log")
    try:
        time.sleep(3)  # registered and waiting
        asset_id, ready = upload_and_wait(stack.api, stack.key, source)
    finally:
        stop_workers(workers)
    conn = Redis.from_url(env["PODIUM_REDIS_URL"])
    found = costs(conn, asset_id, len(plan_chunks(seconds, chunk_s)))
    parts = []
    for kind, values in found.items():
        if len(values) == 1:
            parts.append(f"{kind} {values[0]:.1f} s")
        else:
            parts.append(f"{kind} x{len(values)}: mean {statistics.mean(values):.1f} s, "
                         f"min {min(values):.1f}, max {max(values):.1f}, "
                         f"sum {sum(values):.1f}")
    print(f"{name}: upload->ready {ready:.1f} s ({seconds / ready:.2f}x real time); "
          f"load after {loadavg()}", flush=True)
    print(f"{name}: jobs: " + "; ".join(parts), flush=True)
    cpu = ffmpeg_cpu(stack.work / f"workers-{name}.log", asset_id)
    print(f"{name}: ffmpeg cpu: " + "; ".join(
        f"{kind} x{len(v)} {sum(v):.1f} s" + (f" (mean {statistics.mean(v):.1f})"
                                               if len(v) > 1 else "")
        for kind, v in cpu.items()) + f"; total {sum(sum(v) for v in cpu.values()):.1f} s",
        flush=True)
    httpx.delete(f"{stack.api}/v1/assets/{asset_id}",
                 headers={"Authorization": f"Bearer {stack.key}"}, timeout=60)
    return ready


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=180)
    parser.add_argument("--chunk", type=int, default=16, help="chunk length, seconds")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--skip-chunked1", action="store_true",
                        help="leave out the one-worker chunked run (saves its minutes)")
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs two cores")
    source = make_source(ROOT / "bench" / "out" / f"src-1080p30-{args.seconds}s.mp4",
                         args.seconds)
    work = Path(tempfile.mkdtemp(prefix="podium-bench-chunks-"))
    # niceness 0: the two configurations compete with nothing of Podium's own; a generous
    # timeout, so a busy machine gives slow figures rather than `transcode_timeout`
    stack = BenchStack.start(work, PODIUM_PER_TITLE_BITRATES="false",
                             PODIUM_FFMPEG_THREADS="0", PODIUM_FFMPEG_NICE="0",
                             PODIUM_TRANSCODE_TIMEOUT_FACTOR="60")
    try:
        print(f"source: {source.name}, {source.stat().st_size / 1e6:.0f} MB, ladder "
              f"1080p/720p/480p/360p + AAC, chunks of {args.chunk} s "
              f"({len(plan_chunks(args.seconds, args.chunk))}), logs in {work}", flush=True)
        for number in range(1, args.runs + 1):
            single = run(stack, source, "single", [0], False, args.seconds, args.chunk)
            one = (None if args.skip_chunked1 else
                   run(stack, source, "chunked1", [0], True, args.seconds, args.chunk))
            two = run(stack, source, "chunked2", [0, 1], True, args.seconds, args.chunk)
            line = f"run {number}: single / chunked2 = {single / two:.2f}"
            if one is not None:
                line += f"; chunked1 / chunked2 = {one / two:.2f}; single / chunked1 = " \
                        f"{single / one:.2f}"
            print(line, flush=True)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
