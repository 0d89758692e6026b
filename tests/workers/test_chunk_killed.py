"""A worker SIGKILLed while it encodes one chunk of a chunked transcode costs that chunk only:
the chunk is requeued (as `podium up` does when its child dies), another worker encodes it,
the chunks already made are not made again, and the asset becomes `ready`."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from rq.exceptions import NoSuchJobError
from rq.job import JobStatus
from rq.registry import StartedJobRegistry

from ingest.assets.models import Asset, AssetStatus, new_asset_id
from ingest.media.chunk_plan import plan_chunks
from ingest.storage import keys
from runtime import handles
from tests.conftest import Stack
from tests.support.api_process import start_worker, stop
from tests.support.media import make_clip
from tests.support.procs import alive, comm, descendants
from tests.support.queues import own_queue_prefix
from tests.support.wait import wait_until
from workers import lost, pipeline

pytestmark = pytest.mark.slow
SECONDS = 24
CHUNK_S = 4


@pytest.fixture
def chunked_env(stack: Stack) -> Iterator[dict[str, str]]:
    """Queues and keys of this test only; workers that chunk sources over 5 s."""
    with own_queue_prefix("chunkkill") as prefix:
        yield {**os.environ, **stack.env, "PODIUM_QUEUE_PREFIX": prefix,
               "PODIUM_CHUNKED_MIN_DURATION_S": "5", "PODIUM_CHUNK_DURATION_S": str(CHUNK_S)}


def chunk_running_under(pid: int) -> str | None:
    """The chunk job the worker ``pid`` runs with its ffmpeg started, if any."""
    conn = handles.redis_connection()
    registry = StartedJobRegistry(queue=pipeline.queue(pipeline.media_queue_name(), conn))
    running = [j for j in registry.get_job_ids() if j.startswith("chunk-")]
    if len(running) != 1 or not [p for p in descendants(pid) if comm(p) == "ffmpeg"]:
        return None
    return running[0]


def test_killed_chunk_is_the_only_one_redone(chunked_env: dict[str, str], media_dir: Path,
                                              tmp_path: Path) -> None:
    clip = make_clip(media_dir / "chunk-kill-720p.mp4", width=1280, height=720,
                     seconds=SECONDS, fps=25)
    store = handles.asset_store()
    asset = Asset(id=new_asset_id(), title="chunk killed")
    store.storage.put_file(keys.source(asset.id), clip, "video/mp4")
    store.create(asset)
    conn = handles.redis_connection()
    pipeline.start(conn, asset.id)
    count = len(plan_chunks(SECONDS, CHUNK_S))
    ids = [pipeline.chunk_job_id(asset.id, i) for i in range(count)]

    first = start_worker(chunked_env, tmp_path / "worker-a.log")
    second = None
    try:
        # let it make a chunk or two, then kill it in the middle of the next one
        wait_until(lambda: sum(pipeline.fetch_job(j, conn).get_status() == JobStatus.FINISHED
                               for j in ids if _exists(j)) >= 1, 240, 0.2,
                   "a first chunk to be made")
        wait_until(lambda: chunk_running_under(first.pid) is not None, 120, 0.05,
                   "a chunk being encoded")
        tree = descendants(first.pid)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        wait_until(lambda: not any(alive(p) for p in tree), 5, 0.1, "its ffmpeg to die with it")
        made: dict[str, datetime | None] = {
            j: pipeline.fetch_job(j, conn).ended_at for j in ids
            if pipeline.fetch_job(j, conn).get_status() == JobStatus.FINISHED}
        assert made, "chunks made before the kill"
        requeued = lost.requeue_jobs_of(conn, lost.worker_name(first.pid))
        assert len(requeued) == 1 and requeued[0].startswith("chunk-"), requeued
        assert requeued[0] not in made
        assert store.get(asset.id).status == AssetStatus.PREPARING

        second = start_worker(chunked_env, tmp_path / "worker-b.log")
        wait_until(lambda: store.get(asset.id).status in (AssetStatus.READY,
                                                          AssetStatus.ERRORED),
                   300, 0.5, "the asset to be done")
        assert store.get(asset.id).status == AssetStatus.READY
        for jid, ended in made.items():  # made once, before the kill, never again
            job = pipeline.fetch_job(jid, conn)
            assert job.ended_at == ended and len(job.results()) == 1, jid
        redone = pipeline.fetch_job(requeued[0], conn)
        assert redone.get_status() == JobStatus.FINISHED
        assert redone.worker_name == lost.worker_name(second.pid)
        assert redone.return_value() == "encoded"
        for jid in ids:  # every chunk was encoded exactly once to the end
            assert [r.return_value for r in pipeline.fetch_job(jid, conn).results()] == [
                "encoded"], jid
    finally:
        for proc in (first, second):
            if proc is not None:
                stop(proc, 60)
        store.delete(asset.id)


def _exists(jid: str) -> bool:
    try:
        pipeline.fetch_job(jid, handles.redis_connection())
    except NoSuchJobError:  # not queued yet
        return False
    return True
