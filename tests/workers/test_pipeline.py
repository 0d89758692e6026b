"""Enqueueing against real Redis: callers racing to start the same asset make one job, and one
producer key has at most its limit of transcodes in the queue."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Job

from config import get_settings
from ingest.assets.models import Asset, AssetStatus, new_asset_id
from ingest.assets.store import AssetStore
from ingest.storage import keys
from runtime import handles
from tests.conftest import Stack
from tests.support.media import make_clip
from tests.support.queues import own_queue_prefix
from workers import pipeline
from workers import probe as probe_job
from workers import transcode as transcode_job

CALLERS = 8
ROUNDS = 5


@pytest.fixture
def own_prefix(stack: Stack) -> Iterator[str]:
    """Queues and keys of this test only: the session's worker never takes these jobs."""
    with own_queue_prefix("race") as prefix:
        yield prefix


def start_at_once(asset_id: str) -> list[str]:
    """``CALLERS`` threads released together, each calling pipeline.start; the job ids."""
    conn = handles.redis_connection()
    barrier = threading.Barrier(CALLERS)
    job_ids: list[str] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait(10)
            job_ids.append(pipeline.start(conn, asset_id).id)
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(CALLERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return job_ids


def test_concurrent_starts_make_exactly_one_job(own_prefix: str) -> None:
    queue = pipeline.queue(pipeline.media_queue_name(), handles.redis_connection())
    for _ in range(ROUNDS):
        asset_id = new_asset_id()
        jid = pipeline.job_id("probe", asset_id)
        assert start_at_once(asset_id) == [jid] * CALLERS
        assert queue.job_ids.count(jid) == 1, queue.job_ids


@pytest.fixture
def one_transcode_per_key(own_prefix: str) -> Iterator[AssetStore]:
    settings = get_settings()
    saved = settings.max_transcodes_per_key
    settings.max_transcodes_per_key = 1
    store = handles.asset_store()
    yield store
    for raw in store.redis.zrange(store._index, 0, -1):  # type: ignore[union-attr]
        store.delete(raw.decode())
    settings.max_transcodes_per_key = saved


def probed(store: AssetStore, clip: Path, owner: str) -> str:
    asset = Asset(id=new_asset_id(), title="limits", owner=owner)
    store.storage.put_file(keys.source(asset.id), clip, "video/mp4")
    store.create(asset)
    assert probe_job.probe_asset(asset.id) == "probed"
    return asset.id


def transcode_job_exists(asset_id: str) -> bool:
    try:
        pipeline.fetch_job(pipeline.job_id("transcode", asset_id), handles.redis_connection())
    except NoSuchJobError:
        return False
    return True


def test_a_key_has_at_most_its_limit_of_transcodes_in_the_queue(
        one_transcode_per_key: AssetStore, media_dir: Path) -> None:
    store = one_transcode_per_key
    clip = make_clip(media_dir / "pipeline-limits.mp4", width=160, height=90, seconds=1)
    first, second = probed(store, clip, "k-busy"), probed(store, clip, "k-busy")
    elsewhere = probed(store, clip, "k-other")
    assert transcode_job_exists(first) and transcode_job_exists(elsewhere)
    assert not transcode_job_exists(second), "waits for the key's running transcode"
    assert store.get(second).status == AssetStatus.PREPARING

    assert transcode_job.transcode_asset(first) == "transcoded"
    assert transcode_job_exists(second), "queued once the key's transcode ended"
    queue = pipeline.queue(pipeline.media_queue_name(), handles.redis_connection())
    assert pipeline.job_id("transcode", second) in queue.job_ids


@pytest.mark.parametrize("schedule", [
    lambda conn, at: pipeline.channel_tick(conn, "ch-tick-rounding", at),
    lambda conn, at: pipeline.expire_upload(conn, "up-rounding", datetime.fromtimestamp(at, UTC)),
    lambda conn, at: pipeline.end_live_window(conn, "ls-rounding",
                                              datetime.fromtimestamp(at, UTC)),
], ids=["channel tick", "slot expiry", "reconnect window"])
def test_a_timed_job_never_runs_before_its_instant(
        own_prefix: str, schedule: Callable[[Redis, float], Job]) -> None:
    """RQ scores scheduled jobs in whole seconds, rounded down: a job for x.7 s must be
    scheduled for x+1 s, or it runs before what it is for has happened, finds nothing to do,
    and is not run again."""
    conn = handles.redis_connection()
    at = math.floor(time.time()) + 30.7
    job = schedule(conn, at)
    registry = pipeline.queue(pipeline.media_queue_name(), conn).scheduled_job_registry
    assert registry.get_scheduled_time(job).timestamp() >= at
