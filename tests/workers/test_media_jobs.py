"""Each RQ job called directly against real Redis, S3 and ffmpeg: what it stores, what it queues,
and that running it again, on a deleted asset or on a finished one does no harm."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from config import get_settings
from ingest.assets.models import Asset, AssetStatus, Stage, new_asset_id
from ingest.assets.store import AssetStore
from ingest.hls.playlists import parse_media_segments
from ingest.storage import keys
from runtime import handles
from tests.conftest import Stack
from tests.support.media import make_clip, make_cover_first_mp4, make_sparse_clip
from tests.support.queues import own_queue_prefix
from workers import pipeline, stages
from workers import probe as probe_job
from workers import publish as publish_job
from workers import transcode as transcode_job


@pytest.fixture
def own_prefix(stack: Stack) -> Iterator[str]:
    """Queues and keys of this test only: the session's worker never takes these jobs."""
    with own_queue_prefix("jobs") as prefix:
        yield prefix


@pytest.fixture
def store(own_prefix: str) -> Iterator[AssetStore]:
    """The asset store on the test's prefix; every asset made here is deleted afterwards."""
    store = handles.asset_store()
    def indexed() -> set[str]:
        return {m.decode() for m in store.redis.zrange(store._index, 0, -1)}  # type: ignore[union-attr]

    before = indexed()
    yield store
    for asset_id in indexed() - before:
        store.delete(asset_id)


@pytest.fixture(scope="module")
def clip(media_dir: Path) -> Path:
    return make_clip(media_dir / "jobs-320x180.mp4", width=320, height=180, seconds=2)


def new_asset(store: AssetStore, source: Path | bytes) -> Asset:
    asset = Asset(id=new_asset_id(), title="job test")
    if isinstance(source, bytes):
        store.storage.put_bytes(keys.source(asset.id), source, "application/octet-stream")
    else:
        store.storage.put_file(keys.source(asset.id), source, "video/mp4")
    return store.create(asset)


def fetch_job(stage: str, asset_id: str) -> Job:
    return pipeline.fetch_job(pipeline.job_id(stage, asset_id), handles.redis_connection())


def hls_objects(store: AssetStore, asset_id: str) -> dict[str, int]:
    return store.storage.object_sizes(keys.hls_prefix(asset_id))


def test_probe_stores_source_info_and_queues_transcode_then_publish(
        store: AssetStore, clip: Path) -> None:
    asset = new_asset(store, clip)
    probe = pipeline.start(handles.redis_connection(), asset.id)
    assert probe.id == f"probe-{asset.id}"
    assert probe.timeout is not None and probe.timeout > 180
    assert probe.retries_left == pipeline.transient_retry().max
    assert probe_job.probe_asset(asset.id) == "probed"

    probed = store.get(asset.id)
    assert probed.status == AssetStatus.PREPARING
    assert probed.progress.stage == Stage.TRANSCODE
    assert probed.duration_s == pytest.approx(2, abs=0.1)
    src = probed.source
    assert src is not None
    assert (src.demuxer, src.width, src.height) == ("mov", 320, 180)
    assert (src.video_codec, src.audio_codec, src.has_audio) == ("h264", "aac", True)
    assert src.fps == pytest.approx(25)
    assert src.size_bytes == clip.stat().st_size
    # the bucket holds the same record (it is the source of truth)
    stored = Asset.model_validate_json(store.storage.get_bytes(keys.asset_record(asset.id)))
    assert stored.source == src

    transcode, publish = fetch_job("transcode", asset.id), fetch_job("publish", asset.id)
    assert transcode.id == f"transcode-{asset.id}" and publish.id == f"publish-{asset.id}"
    assert transcode.func_name == "workers.transcode.transcode_asset"
    assert publish.func_name == "workers.publish.publish_asset"
    assert transcode.args == [asset.id] or tuple(transcode.args) == (asset.id,)
    assert transcode.origin == pipeline.media_queue_name()
    for job in (transcode, publish):
        assert job.retries_left == pipeline.transient_retry().max >= 1
        assert job.retry_intervals == pipeline.transient_retry().intervals
    # timeouts fit the media: RQ's flat 180 s default would kill a long transcode
    assert publish.timeout is not None and publish.timeout > 180
    # ffmpeg's own limit fires first (a specific error code), RQ's only after the download
    assert transcode.timeout == (pipeline.transcode_timeout_s(src.duration_s)
                                 + pipeline.TRANSFER_ALLOWANCE_S)
    assert pipeline.transcode_timeout_s(3600) > 3600 > 180
    assert transcode.get_status() == JobStatus.QUEUED
    assert publish.get_status() == JobStatus.DEFERRED
    assert publish.dependency_ids == [transcode.id]


def test_each_job_twice_is_harmless_and_master_is_rewritten_measured_last(
        store: AssetStore, clip: Path) -> None:
    asset = new_asset(store, clip)
    assert probe_job.probe_asset(asset.id) == "probed"
    first_source = store.get(asset.id).source
    assert probe_job.probe_asset(asset.id) == "probed"
    assert store.get(asset.id).source == first_source

    assert transcode_job.transcode_asset(asset.id) == "transcoded"
    names = [r.name for r in stages.plans_for(store.get(asset.id))]
    assert names
    playlists = {n: store.storage.get_bytes(keys.media_playlist(asset.id, n)) for n in names}
    objects = hls_objects(store, asset.id)
    # playable while preparing: the multivariant playlist with the declared bandwidths
    early = store.storage.get_bytes(keys.master_playlist(asset.id))
    transcoded = store.get(asset.id)
    assert transcoded.playable and transcoded.status == AssetStatus.PREPARING
    assert transcoded.progress.stage == Stage.PUBLISH
    for text in playlists.values():  # complete: VOD with ENDLIST
        assert b"#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith(b"#EXT-X-ENDLIST")

    assert transcode_job.transcode_asset(asset.id) == "transcoded"
    again = {n: store.storage.get_bytes(keys.media_playlist(asset.id, n)) for n in names}
    assert again == playlists
    assert set(hls_objects(store, asset.id)) == set(objects)
    assert store.storage.get_bytes(keys.master_playlist(asset.id)) == early
    for name, text in playlists.items():
        segments = parse_media_segments(text.decode())
        assert {f"{name}/{s.uri}" for s in segments} | {f"{name}/index.m3u8"} == {
            k for k in objects if k.startswith(f"{name}/")}

    assert publish_job.publish_asset(asset.id) == "ready"
    master = store.storage.get_bytes(keys.master_playlist(asset.id))
    ready = store.get(asset.id)
    assert ready.status == AssetStatus.READY
    assert master != early  # the bandwidths measured on the segments
    assert all(f"BANDWIDTH={r.bandwidth}".encode() in master for r in ready.renditions)
    assert ready.progress.stage == Stage.DONE and ready.progress.percent == 100
    assert [r.name for r in ready.renditions] == names
    assert ready.error is None
    work = get_settings().data_dir.resolve() / "work" / asset.id
    assert not work.exists(), "the local work directory is cleaned once ready"

    # a finished asset is left alone by every job (a late retry, a re-run by hand)
    for job in (probe_job.probe_asset, transcode_job.transcode_asset, publish_job.publish_asset):
        assert job(asset.id) == "skipped"
    assert store.storage.get_bytes(keys.master_playlist(asset.id)) == master
    assert store.get(asset.id).renditions == ready.renditions
    assert set(hls_objects(store, asset.id)) == set(objects) | {"master.m3u8"}


def test_a_second_probe_does_not_queue_the_transcode_twice(store: AssetStore,
                                                           clip: Path) -> None:
    asset = new_asset(store, clip)
    assert probe_job.probe_asset(asset.id) == "probed"
    assert probe_job.probe_asset(asset.id) == "probed"
    queue = pipeline.queue(pipeline.media_queue_name(), handles.redis_connection())
    assert queue.job_ids.count(pipeline.job_id("transcode", asset.id)) == 1


def test_jobs_for_a_deleted_asset_are_gone(store: AssetStore, clip: Path) -> None:
    asset = new_asset(store, clip)
    assert probe_job.probe_asset(asset.id) == "probed"
    store.delete(asset.id)
    for job in (probe_job.probe_asset, transcode_job.transcode_asset, publish_job.publish_asset):
        assert job(asset.id) == "gone"
    assert list(store.storage.list_keys(keys.asset_prefix(asset.id))) == []
    assert probe_job.probe_asset(new_asset_id()) == "gone"  # never existed


def test_permanent_error_marks_errored_and_keeps_only_the_source(
        store: AssetStore, clip: Path) -> None:
    asset = new_asset(store, clip)
    assert probe_job.probe_asset(asset.id) == "probed"
    assert transcode_job.transcode_asset(asset.id) == "transcoded"
    objects = hls_objects(store, asset.id)
    lost = next(k for k in objects if k.endswith(".ts"))
    store.storage.client.delete_object(Bucket=store.storage.bucket,
                                       Key=keys.hls_object(asset.id, lost))

    assert publish_job.publish_asset(asset.id) == "errored"
    errored = store.get(asset.id)
    assert errored.status == AssetStatus.ERRORED
    assert errored.error is not None and errored.error.code == "transcode_incomplete"
    assert errored.error.message
    assert hls_objects(store, asset.id) == {}, "partial HLS output is removed"
    assert store.storage.exists(keys.source(asset.id)), "the source stays for inspection"
    assert store.storage.exists(keys.asset_record(asset.id))
    assert transcode_job.transcode_asset(asset.id) == "skipped"  # an errored asset stays errored


def test_unreadable_source_ends_errored_with_a_code(store: AssetStore) -> None:
    asset = new_asset(store, b"\x00\x00\x00\x18ftypisom" + secrets.token_bytes(50_000))
    assert probe_job.probe_asset(asset.id) == "errored"
    errored = store.get(asset.id)
    assert errored.status == AssetStatus.ERRORED
    assert errored.error is not None and errored.error.code == "probe_failed"
    with pytest.raises(NoSuchJobError):
        fetch_job("transcode", asset.id)
    assert store.storage.exists(keys.source(asset.id))


def test_missing_source_ends_errored(store: AssetStore) -> None:
    asset = store.create(Asset(id=new_asset_id(), title="no source"))
    assert probe_job.probe_asset(asset.id) == "errored"
    error = store.get(asset.id).error
    assert error is not None and error.code == "source_missing"


def test_failure_callback_marks_errored_only_when_retries_are_spent(
        store: AssetStore, clip: Path) -> None:
    asset = new_asset(store, clip)
    assert probe_job.probe_asset(asset.id) == "probed"
    job = fetch_job("transcode", asset.id)
    conn = handles.redis_connection()
    exc = RuntimeError("storage down")
    stages.on_job_failure(job, conn, RuntimeError, exc, None)
    assert store.get(asset.id).status == AssetStatus.PREPARING, "retries are left"
    job.retries_left = 0
    stages.on_job_failure(job, conn, RuntimeError, exc, None)
    failed = store.get(asset.id)
    assert failed.status == AssetStatus.ERRORED
    assert failed.error is not None and failed.error.code == "processing_failed"
    store.delete(asset.id)
    stages.on_job_failure(job, conn, RuntimeError, exc, None)  # deleted meanwhile: no error


def test_cover_picture_stored_first_is_not_what_gets_transcoded(
        store: AssetStore, media_dir: Path) -> None:
    """A 4000x4000 cover is the first video stream; renditions follow the 320x180 video."""
    source = make_cover_first_mp4(media_dir / "jobs-cover-first.mp4", seconds=3)
    asset = new_asset(store, source)
    assert probe_job.probe_asset(asset.id) == "probed"
    src = store.get(asset.id).source
    assert src is not None
    assert (src.video_stream, src.audio_stream, src.width, src.height) == (1, 2, 320, 180)
    # a record written before stream indexes were kept: the transcode probes again
    old = src.model_copy(update={"video_stream": None, "audio_stream": None})
    assert probe_job.recorded_streams(old, source) == (1, 2)

    assert transcode_job.transcode_asset(asset.id) == "transcoded"
    assert publish_job.publish_asset(asset.id) == "ready"
    ready = store.get(asset.id)
    assert [(r.width, r.height) for r in ready.renditions] == [(320, 180)]
    assert ready.duration_s == pytest.approx(3, abs=0.2)
    playlist = store.storage.get_bytes(keys.media_playlist(asset.id, ready.renditions[0].name))
    assert sum(s.duration for s in parse_media_segments(playlist.decode())) == pytest.approx(
        3, abs=0.2)


def test_file_claiming_far_more_than_it_holds_is_refused_at_probe(
        store: AssetStore, media_dir: Path) -> None:
    """10 frames whose timestamps claim ~45 s at 25 fps: errored before any transcode."""
    asset = new_asset(store, make_sparse_clip(media_dir / "jobs-sparse.mkv"))
    started = time.monotonic()
    assert probe_job.probe_asset(asset.id) == "errored"
    assert time.monotonic() - started < 20
    error = store.get(asset.id).error
    assert error is not None and error.code == "implausible_media"
    with pytest.raises(NoSuchJobError):
        fetch_job("transcode", asset.id)
