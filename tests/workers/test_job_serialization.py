"""RQ jobs are JSON in Redis: whoever can write to Redis cannot make a worker unpickle code."""

from __future__ import annotations

import json
import os
import pickle
import secrets
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq.job import JobStatus

from runtime import handles
from tests.conftest import ROOT, Stack
from tests.support.queues import own_queue_prefix
from workers import pipeline


@pytest.fixture
def own_prefix(stack: Stack) -> Iterator[dict[str, str]]:
    """Queues of this test only (the session's worker never takes these jobs); yields the
    environment of a worker process that serves them."""
    with own_queue_prefix("ser") as prefix:
        yield {**os.environ, **stack.env, "PODIUM_QUEUE_PREFIX": prefix}


class _Planted:
    """Unpickling this opens (creates) ``marker``: any code could run in its place."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.marker), "w")


def test_enqueued_jobs_are_json(own_prefix: dict[str, str]) -> None:
    conn = handles.redis_connection()
    asset_id = "as-" + secrets.token_hex(8)
    pipeline.captions(conn, asset_id, 3.0, "pt-BR", replace_human=True)
    raw = conn.hget(f"rq:job:{pipeline.job_id('captions', asset_id)}", "data")
    assert isinstance(raw, bytes)
    assert json.loads(zlib.decompress(raw)) == [
        "workers.captions.caption_asset", None, [asset_id, "pt-BR", True], {}]
    job = pipeline.fetch_job(pipeline.job_id("captions", asset_id), conn)
    assert job.args == [asset_id, "pt-BR", True]


def test_a_pickled_job_planted_in_redis_is_never_unpickled(own_prefix: dict[str, str],
                                                           tmp_path: Path) -> None:
    conn = handles.redis_connection()
    asset_id = "as-" + secrets.token_hex(8)
    queue = pipeline.queue(pipeline.media_queue_name(), conn)
    job = queue.enqueue("workers.probe.probe_asset", asset_id, job_id=f"probe-{asset_id}")
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(("workers.probe.probe_asset", None, (_Planted(marker),), {}))
    conn.hset(f"rq:job:{job.id}", "data", zlib.compress(payload))

    worker = subprocess.run([sys.executable, "-m", "cli.main", "worker", "--burst"], cwd=ROOT,
                            env=own_prefix, capture_output=True, timeout=120)

    assert worker.returncode == 0, worker.stderr.decode()[-2000:]
    assert not marker.exists(), "the worker unpickled a payload planted in Redis"
    failed = pipeline.fetch_job(job.id, conn)
    assert failed.get_status(refresh=True) == JobStatus.FAILED
    assert "DeserializationError" in (failed.latest_result().exc_string or "")
