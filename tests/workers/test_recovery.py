"""The bucket is the source of truth: after Redis loses everything, `podium reconcile` rebuilds
the index from the bucket and re-queues unfinished assets, which a worker then finishes."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import JobStatus

from config import get_settings
from ingest.assets.models import Asset, AssetStatus, CaptionMode, new_asset_id
from ingest.assets.store import AssetStore
from ingest.storage import keys
from runtime import handles
from tests.conftest import ROOT, Stack
from tests.support.api_process import start_worker, stop
from tests.support.media import make_clip
from tests.support.wait import wait_until
from workers import pipeline
from workers import probe as probe_job
from workers import publish as publish_job
from workers import transcode as transcode_job


@dataclass
class Isolated:
    prefix: str
    bucket: str
    env: dict[str, str]


def forget_redis(conn: Redis, prefix: str, asset_ids: list[str]) -> int:
    """Lose every Redis key of this prefix and its assets' jobs (never the shared database)."""
    patterns = [f"{prefix}:*", f"rq:*:{prefix}-*", *(f"rq:*{a}*" for a in asset_ids)]
    doomed = {key for pattern in patterns for key in conn.scan_iter(match=pattern, count=1000)}
    if doomed:
        conn.delete(*doomed)
    conn.srem("rq:queues", f"rq:queue:{prefix}-media", f"rq:queue:{prefix}-captions")
    return len(doomed)


@pytest.fixture
def isolated(stack: Stack) -> Iterator[Isolated]:
    """A prefix and a bucket of this test alone: reconcile sees only the assets made here."""
    settings = get_settings()
    saved = (settings.queue_prefix, settings.s3_bucket)
    tag = secrets.token_hex(3)
    settings.queue_prefix = prefix = f"{saved[0]}rec{tag}"
    settings.s3_bucket = bucket = f"podium-test-rec-{tag}"
    handles.storage.cache_clear()
    handles.storage().ensure_bucket()
    env = {**os.environ, **stack.env, "PODIUM_QUEUE_PREFIX": prefix, "PODIUM_S3_BUCKET": bucket}
    try:
        yield Isolated(prefix, bucket, env)
    finally:
        storage = handles.storage()
        storage.delete_prefix("assets/")
        storage.client.delete_bucket(Bucket=bucket)
        forget_redis(handles.redis_connection(), prefix, [])
        settings.queue_prefix, settings.s3_bucket = saved
        handles.storage.cache_clear()


def new_asset(store: AssetStore, clip: Path, title: str) -> Asset:
    asset = Asset(id=new_asset_id(), title=title, caption_mode=CaptionMode.NONE)
    store.storage.put_file(keys.source(asset.id), clip, "video/mp4")
    return store.create(asset)


def reconcile(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "cli.main", "reconcile"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def job_status(conn: Redis, stage: str, asset_id: str) -> JobStatus | None:
    try:
        return pipeline.fetch_job(pipeline.job_id(stage, asset_id), conn).get_status()
    except NoSuchJobError:
        return None


def test_reconcile_rebuilds_the_index_and_finishes_unfinished_assets(
        isolated: Isolated, client: httpx.Client, anon: httpx.Client, media_dir: Path,
        tmp_path: Path) -> None:
    clip = make_clip(media_dir / "recovery-320x180.mp4", width=320, height=180, seconds=2,
                     audio=False)
    store, conn = handles.asset_store(), handles.redis_connection()
    ready = new_asset(store, clip, "was ready")
    for job in (probe_job.probe_asset, transcode_job.transcode_asset, publish_job.publish_asset):
        job(ready.id)
    stuck = new_asset(store, clip, "stuck preparing")
    assert probe_job.probe_asset(stuck.id) == "probed"
    waiting = new_asset(store, clip, "still waiting")
    pipeline.start(conn, waiting.id)
    ids = [ready.id, stuck.id, waiting.id]
    ready = store.get(ready.id)
    assert [store.get(i).status for i in ids] == [
        AssetStatus.READY, AssetStatus.PREPARING, AssetStatus.WAITING]
    assert store.get(stuck.id).source is not None

    assert forget_redis(conn, isolated.prefix, ids) > 0  # Redis lost: index, cache, queues
    assert client.get("/v1/assets").json() == {"items": [], "next_cursor": None}
    assert job_status(conn, "probe", waiting.id) is None
    assert job_status(conn, "transcode", stuck.id) is None

    out = reconcile(isolated.env)
    assert "3 assets indexed, 2 re-queued" in out, out
    assert stuck.id in out and waiting.id in out and ready.id not in out
    listed = client.get("/v1/assets").json()
    assert [a["id"] for a in listed["items"]] == ids[::-1]  # newest first
    assert [a["status"] for a in listed["items"]] == ["waiting", "preparing", "ready"]
    shown = client.get(f"/v1/assets/{ready.id}").json()
    assert shown["renditions"] and shown["playback"]

    assert job_status(conn, "probe", waiting.id) == JobStatus.QUEUED
    assert job_status(conn, "transcode", stuck.id) == JobStatus.QUEUED
    assert job_status(conn, "publish", stuck.id) == JobStatus.DEFERRED
    assert job_status(conn, "probe", stuck.id) is None, "probe is not redone"
    assert all(job_status(conn, s, ready.id) is None for s in pipeline.STAGES)

    out = reconcile(isolated.env)  # again: the queued jobs are found, nothing queued twice
    assert "3 assets indexed, 0 re-queued" in out, out
    queued = pipeline.queue(pipeline.media_queue_name(), conn).job_ids
    assert sorted(queued) == sorted([f"probe-{waiting.id}", f"transcode-{stuck.id}"])

    log = tmp_path / "worker.log"
    worker = start_worker(isolated.env, log)
    try:

        def both_ready() -> bool:
            statuses = [store.get(i).status for i in (stuck.id, waiting.id)]
            if set(statuses) == {AssetStatus.READY}:
                return True
            assert AssetStatus.ERRORED not in statuses, log.read_text()[-3000:]
            assert worker.poll() is None, log.read_text()[-3000:]
            return False

        wait_until(both_ready, 180, 0.5, "both unfinished assets to be ready")
    finally:
        stop(worker, 30)
    for asset_id in ids:
        assert anon.get(f"/play/{asset_id}.m3u8").status_code == 200
        assert store.storage.exists(keys.master_playlist(asset_id))
    again = store.get(ready.id)
    assert again.attempts == ready.attempts and again.updated_at == ready.updated_at, \
        "the ready asset was left alone"


def test_reconcile_skips_records_it_cannot_read(isolated: Isolated,
                                                client: httpx.Client) -> None:
    store = handles.asset_store()
    good = store.create(Asset(id=new_asset_id(), title="readable",
                              status=AssetStatus.READY))
    store.storage.put_bytes(keys.asset_record(new_asset_id()), b"{not json", "application/json")
    forget_redis(handles.redis_connection(), isolated.prefix, [good.id])
    out = reconcile(isolated.env)
    assert "1 assets indexed, 0 re-queued" in out, out
    assert [a["id"] for a in client.get("/v1/assets").json()["items"]] == [good.id]
