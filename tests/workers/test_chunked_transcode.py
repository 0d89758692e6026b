"""A chunked transcode, each job called directly against real Redis, S3 and ffmpeg: the split
queues one job per chunk, the audio job and the stitch behind them, and the stitched ladder is
continuous (no gap at a join, monotonic timestamps, audio in sync within a frame, segment
boundaries the same in every rendition)."""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq.job import JobStatus

from config import get_settings
from ingest.assets.models import Asset, AssetStatus, new_asset_id
from ingest.assets.store import AssetStore
from ingest.hls.playlists import parse_media_segments
from ingest.media.chunk_plan import plan_chunks
from ingest.storage import keys
from runtime import handles
from tests.conftest import Stack
from tests.support.media import make_clip
from tests.support.queues import own_queue_prefix
from workers import chunks as chunk_jobs
from workers import pipeline, stages, workspace
from workers import probe as probe_job
from workers import publish as publish_job
from workers import transcode as transcode_job

FPS = 25
SECONDS = 10
SEGMENT_S = 2
CHUNK_S = 4


@pytest.fixture
def chunked(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[AssetStore]:
    """Queues of this test only, sources over 5 s in chunks of 4 s, segments of 2 s; every
    asset made here is deleted afterwards."""
    settings = get_settings()
    monkeypatch.setattr(settings, "chunked_min_duration_s", 5.0)
    monkeypatch.setattr(settings, "chunk_duration_s", CHUNK_S)
    monkeypatch.setattr(settings, "segment_duration_s", SEGMENT_S)
    with own_queue_prefix("chunks"):
        store = handles.asset_store()

        def indexed() -> set[str]:
            return {m.decode() for m in store.redis.zrange(store._index, 0, -1)}  # type: ignore[union-attr]

        before = indexed()
        yield store
        for asset_id in indexed() - before:
            store.delete(asset_id)


@pytest.fixture(scope="module")
def clip(media_dir: Path) -> Path:
    return make_clip(media_dir / "chunks-854x480.mp4", width=854, height=480,
                     seconds=SECONDS, fps=FPS)


def new_asset(store: AssetStore, clip: Path) -> Asset:
    asset = Asset(id=new_asset_id(), title="chunked")
    store.storage.put_file(keys.source(asset.id), clip, "video/mp4")
    return store.create(asset)


def job_status(jid: str) -> JobStatus:
    return pipeline.fetch_job(jid, handles.redis_connection()).get_status(refresh=True)


def test_plan_chunks_cut_at_chunk_boundaries() -> None:
    assert plan_chunks(10, 4) == [
        chunk(0, 0, 4, False), chunk(1, 4, 4, False), chunk(2, 8, 2, True)]
    assert plan_chunks(8, 4) == [chunk(0, 0, 4, False), chunk(1, 4, 4, True)]
    # a last piece under a second joins the chunk before (read to the end of the source)
    assert plan_chunks(8.5, 4) == [chunk(0, 0, 4, False), chunk(1, 4, 4.5, True)]
    assert plan_chunks(3, 4) == [chunk(0, 0, 3, True)]


def chunk(index: int, start: float, duration: float, last: bool) -> object:
    from ingest.media.chunk_plan import Chunk
    return Chunk(index, float(start), float(duration), last)


def test_chunk_length_must_be_a_multiple_of_the_segment_length() -> None:
    from config.settings import Settings
    with pytest.raises(ValueError, match="multiple of segment_duration_s"):
        Settings(chunk_duration_s=6, segment_duration_s=4)
    assert Settings(chunk_duration_s=12, segment_duration_s=4).chunk_duration_s == 12


def test_chunked_transcode_is_continuous_across_joins(
        chunked: AssetStore, clip: Path, tmp_path: Path) -> None:
    store = chunked
    asset = new_asset(store, clip)
    assert probe_job.probe_asset(asset.id) == "probed"
    conn = handles.redis_connection()
    # chunked: publish is queued behind the stitch, not behind the transcode (split) job
    assert job_status(pipeline.job_id("transcode", asset.id)) == JobStatus.QUEUED
    assert transcode_job.transcode_asset(asset.id) == transcode_job.SPLIT

    count = len(plan_chunks(SECONDS, CHUNK_S))
    chunk_ids = [pipeline.chunk_job_id(asset.id, i) for i in range(count)]
    stitch = pipeline.fetch_job(pipeline.job_id("stitch", asset.id), conn)
    publish = pipeline.fetch_job(pipeline.job_id("publish", asset.id), conn)
    assert [job_status(j) for j in chunk_ids] == [JobStatus.QUEUED] * count
    assert job_status(pipeline.job_id("audio", asset.id)) == JobStatus.QUEUED
    assert stitch.get_status() == JobStatus.DEFERRED
    assert sorted(stitch.dependency_ids) == sorted([*chunk_ids, f"audio-{asset.id}"])
    assert publish.dependency_ids == [stitch.id]

    # the pieces in any order, on "any worker"; a piece made twice is not encoded again
    for index in reversed(range(count)):
        assert chunk_jobs.encode_chunk(asset.id, index) == "encoded"
    assert chunk_jobs.encode_chunk(asset.id, 1) == "already_made"
    assert store.get(asset.id).progress.percent == pytest.approx(100, abs=1)
    assert chunk_jobs.encode_audio(asset.id) == "encoded"
    assert chunk_jobs.stitch_asset(asset.id, count) == "transcoded"
    assert store.get(asset.id).playable
    assert not list(store.storage.list_keys(keys.chunks_prefix(asset.id))), "pieces removed"
    assert publish_job.publish_asset(asset.id) == "ready"
    ready = store.get(asset.id)
    assert ready.status == AssetStatus.READY
    assert ready.duration_s == pytest.approx(SECONDS, abs=0.05)

    plans = stages.plans_for(ready)
    assert [p.name for p in plans] == ["480p", "360p"]
    starts: dict[str, list[float]] = {}
    for plan in plans:
        playlist = store.storage.get_bytes(keys.media_playlist(asset.id, plan.name)).decode()
        segments = parse_media_segments(playlist)
        assert [s.duration for s in segments] == pytest.approx([SEGMENT_S] * 5, abs=0.01)
        joined = tmp_path / f"{plan.name}.ts"
        with joined.open("wb") as out:
            for segment in segments:
                out.write(store.storage.get_bytes(
                    keys.hls_object(asset.id, f"{plan.name}/{segment.uri}")))
                starts.setdefault(plan.name, []).append(first_video_pts(
                    store.storage.get_bytes(
                        keys.hls_object(asset.id, f"{plan.name}/{segment.uri}")), tmp_path))
        check_continuous(joined)
    # segment boundaries (first video PTS of each segment) are the same in every rendition,
    # at multiples of the segment length
    assert starts["480p"] == starts["360p"]
    assert [b - starts["360p"][0] for b in starts["360p"]] == pytest.approx(
        [i * SEGMENT_S for i in range(5)], abs=1e-3)


def first_video_pts(data: bytes, tmp: Path) -> float:
    path = tmp / "one-segment.ts"
    path.write_bytes(data)
    video, _ = packets(path)
    assert video[0]["flags"].startswith("K"), "every segment starts with a keyframe"
    return min(float(p["pts_time"]) for p in video)


def packets(path: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries",
         "packet=codec_type,pts_time,dts_time,duration_time,flags", "-of", "json", str(path)],
        check=True, capture_output=True, text=True, timeout=120).stdout
    all_packets = json.loads(out)["packets"]
    return ([p for p in all_packets if p["codec_type"] == "video"],
            [p for p in all_packets if p["codec_type"] == "audio"])


def check_continuous(path: Path) -> None:
    """Every frame of the source once, one frame duration apart (no gap, nothing twice,
    monotonic DTS), and audio without a gap, starting and ending within a frame of video."""
    video, audio = packets(path)
    frame = 1 / FPS
    assert len(video) == SECONDS * FPS
    dts = [float(p["dts_time"]) for p in video]
    assert all(b > a for a, b in itertools.pairwise(dts)), "DTS not monotonic"
    pts = sorted(float(p["pts_time"]) for p in video)
    steps = [b - a for a, b in itertools.pairwise(pts)]
    assert min(steps) == pytest.approx(frame, abs=1e-3)
    assert max(steps) == pytest.approx(frame, abs=1e-3), "a gap or a doubled frame at a join"
    audio_pts = [float(p["pts_time"]) for p in audio]
    audio_steps = [b - a for a, b in itertools.pairwise(audio_pts)]
    assert max(audio_steps) == pytest.approx(1024 / 48000, abs=1e-3), "a gap in the audio"
    assert min(audio_steps) == pytest.approx(1024 / 48000, abs=1e-3)
    assert abs(audio_pts[0] - pts[0]) < frame, "audio starts out of sync"
    audio_end = audio_pts[-1] + float(audio[-1]["duration_time"])
    assert abs(audio_end - (pts[-1] + frame)) < frame, "audio ends out of sync"


def test_a_chunk_that_cannot_be_decoded_ends_the_asset_and_calls_off_the_stitch(
        chunked: AssetStore, clip: Path) -> None:
    store = chunked
    asset = new_asset(store, clip)
    assert probe_job.probe_asset(asset.id) == "probed"
    assert transcode_job.transcode_asset(asset.id) == transcode_job.SPLIT
    # the source is replaced by bytes that are no video after the probe (a disk gone bad)
    workspace.local_source(store, asset.id).write_bytes(b"\x00" * 4096)
    assert chunk_jobs.encode_chunk(asset.id, 0) == "errored"
    failed = store.get(asset.id)
    assert failed.status == AssetStatus.ERRORED
    assert failed.error is not None and failed.error.code == "transcode_failed"
    assert job_status(pipeline.job_id("stitch", asset.id)) == JobStatus.CANCELED
    assert job_status(pipeline.job_id("publish", asset.id)) == JobStatus.CANCELED
    # the other chunks find the asset errored and do nothing
    assert chunk_jobs.encode_chunk(asset.id, 1) == "skipped"


def test_a_chunked_asset_counts_against_its_key_until_its_stitch_ends(
        chunked: AssetStore, clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = chunked
    monkeypatch.setattr(get_settings(), "max_transcodes_per_key", 1)

    def probed(owner: str) -> str:
        asset = Asset(id=new_asset_id(), title="limits", owner=owner)
        store.storage.put_file(keys.source(asset.id), clip, "video/mp4")
        store.create(asset)
        assert probe_job.probe_asset(asset.id) == "probed"
        return asset.id

    first, second = probed("k-chunks"), probed("k-chunks")
    conn = handles.redis_connection()
    queue = pipeline.queue(pipeline.media_queue_name(), conn)
    assert pipeline.job_id("transcode", second) not in queue.job_ids
    assert transcode_job.transcode_asset(first) == transcode_job.SPLIT
    # as RQ would mark it: the split job is done, its chunks are not, so the key's one
    # transcode is still running
    pipeline.fetch_job(pipeline.job_id("transcode", first), conn).set_status(JobStatus.FINISHED)
    assert pipeline.transcode_ended(conn, store, "k-chunks", "some-other-asset") == []
    assert pipeline.job_id("transcode", second) not in queue.job_ids
    count = len(plan_chunks(SECONDS, CHUNK_S))
    for index in range(count):
        assert chunk_jobs.encode_chunk(first, index) == "encoded"
    assert chunk_jobs.encode_audio(first) == "encoded"
    assert chunk_jobs.stitch_asset(first, count) == "transcoded"
    assert pipeline.job_id("transcode", second) in queue.job_ids, "queued once the stitch ended"
