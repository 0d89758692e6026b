"""A worker SIGKILLed mid-transcode with no supervisor around loses nothing: its ffmpeg dies
with it, the job's heartbeat lapses, a surviving worker's maintenance pass requeues the job
(within a minute with the default settings), and that worker brings the asset to `ready`."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq.job import JobStatus

from ingest.assets.models import Asset, AssetStatus, Stage, new_asset_id
from ingest.hls.playlists import parse_media_segments
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


@pytest.fixture
def own_prefix(stack: Stack) -> Iterator[dict[str, str]]:
    """Queues and keys of this test only, so the session's worker does not take the job."""
    with own_queue_prefix("kill") as prefix:
        yield {**os.environ, **stack.env, "PODIUM_QUEUE_PREFIX": prefix}


def test_sigkilled_worker_job_is_recovered(own_prefix: dict[str, str], media_dir: Path,
                                           tmp_path: Path) -> None:
    clip = make_clip(media_dir / "long-720p.mp4", width=1280, height=720, seconds=30, fps=30)
    store = handles.asset_store()
    asset = Asset(id=new_asset_id(), title="killed mid-transcode")
    store.storage.put_file(keys.source(asset.id), clip, "video/mp4")
    store.create(asset)
    pipeline.start(handles.redis_connection(), asset.id)

    first = start_worker(own_prefix, tmp_path / "worker-a.log")
    second = None
    try:
        wait_until(lambda: (current := store.get(asset.id)).progress.stage == Stage.TRANSCODE
                   and current.progress.percent > 5, 120, 0.2, "the transcode to start")
        second = start_worker(own_prefix, tmp_path / "worker-b.log")  # the survivor, idle
        tree = descendants(first.pid)  # work horse, ffmpeg, RQ's scheduler process
        assert [p for p in tree if comm(p) == "ffmpeg"], "ffmpeg should run under the worker"
        assert len(tree) >= 3, tree
        first.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        first.wait(10)
        wait_until(lambda: not any(alive(p) for p in tree), 5, 0.1,
                   "the worker's children to die with it")
        assert not [p for p in tree if alive(p)], "children outlived their worker"
        assert store.get(asset.id).status == AssetStatus.PREPARING
        transcode = pipeline.fetch_job(pipeline.job_id("transcode", asset.id),
                                       handles.redis_connection())
        survivor = lost.worker_name(second.pid)

        def rerun_by_survivor() -> bool:
            transcode.refresh()
            return (transcode.get_status() == JobStatus.STARTED
                    and transcode.worker_name == survivor)
        wait_until(rerun_by_survivor, timeout=120, interval=0.2,
                   what="abandoned transcode re-run by the survivor")
        print(f"\nno supervisor, defaults: kill -> transcode running again "
              f"{time.monotonic() - killed:.1f} s")
        wait_until(lambda: store.get(asset.id).status in (AssetStatus.READY, AssetStatus.ERRORED),
                   timeout=300, interval=1, what="asset done")
    finally:
        for proc in (first, second):
            if proc is not None:
                stop(proc, 60)
    done = store.get(asset.id)
    assert done.status == AssetStatus.READY, done.error
    assert done.attempts >= 3  # probe, the killed transcode, the re-run (and publish)
    media = store.storage.get_bytes(keys.media_playlist(asset.id, "360p")).decode()
    assert sum(s.duration for s in parse_media_segments(media)) == pytest.approx(30, abs=0.5)
    assert store.storage.exists(keys.master_playlist(asset.id))
