"""The captions job and the playlist lock, run in this process against real Redis, S3, ffmpeg
and the embedded speech model (the session's worker process serves the uploads)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import m3u8
import pytest

from config import get_settings
from ingest.assets import locks
from ingest.assets.models import (
    Asset,
    AssetStatus,
    CaptionReview,
    CaptionSource,
    CaptionStatus,
    CaptionTrack,
    Progress,
    Stage,
    new_asset_id,
)
from ingest.captions import store as caption_store
from ingest.captions.files import Cue
from ingest.media.probe import MediaInfo
from ingest.storage import keys
from runtime import handles
from tests.conftest import Stack, upload, wait_for
from tests.support.media import make_clip
from workers import captions
from workers import publish as publish_job

SRT = b"1\n00:00:00,500 --> 00:00:01,500\nA person wrote this.\n"


@pytest.fixture(scope="module")
def published(worker: Path, api_server: str, stack: Stack, media_dir: Path) -> str:
    """A ready asset with audio (a tone) and no automatic captions."""
    clip = make_clip(media_dir / "captions-jobs.mp4", seconds=3, fps=25)
    with httpx.Client(base_url=api_server, timeout=60,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as c:
        asset_id = str(upload(c, clip, title="Jobs", captions="none").json()["id"])
        assert wait_for(c, asset_id)["status"] == "ready"
    return asset_id


def record(**fields: object) -> Asset:
    """An asset that exists only as a record (for paths that never reach its media)."""
    audio = "aac" if fields.pop("has_audio", True) else None
    source = MediaInfo(demuxer="mov", format_name="mov,mp4", duration_s=3.0, width=320,
                       height=180, fps=25, video_codec="h264", audio_codec=audio)
    asset = Asset(id=new_asset_id(), status=AssetStatus.READY, source=source, duration_s=3.0,
                  **fields)  # type: ignore[arg-type]
    return handles.asset_store().create(asset)


def track(language: str, text: str) -> caption_store.StoredTrack:
    return caption_store.StoredTrack.of(language, CaptionSource.UPLOAD, CaptionReview.EDITED,
                                        [Cue(0.5, 1.5, text)])


def master_languages(asset_id: str) -> list[str]:
    text = handles.storage().get_bytes(keys.master_playlist(asset_id)).decode()
    return sorted(m.language for m in m3u8.loads(text).media if m.type == "SUBTITLES")


def test_job_returns_quietly_for_missing_or_silent_assets(stack: Stack) -> None:
    assert captions.caption_asset("as-0000000000000000") == "gone"
    silent = record(has_audio=False)
    assert captions.caption_asset(silent.id) == "skipped"
    assert handles.asset_store().get(silent.id).captions == []


def test_unsupported_language_errors_the_track_not_the_asset(stack: Stack) -> None:
    asset = record(language="tlh")  # Klingon: no Whisper model knows it
    assert captions.caption_asset(asset.id) == "errored"  # refused before fetching any media
    after = handles.asset_store().get(asset.id)
    assert after.status == AssetStatus.READY
    entry = after.caption("tlh")
    assert entry is not None and entry.status == CaptionStatus.ERRORED
    assert entry.error is not None and entry.error.code == "asr_language_unsupported"


def test_failure_callback_marks_only_the_track(stack: Stack) -> None:
    asset = record(language="en-gb")
    job = SimpleNamespace(id=f"captions-{asset.id}", retries_left=0, args=[asset.id, None, False])
    captions.on_captions_failure(job, None, TimeoutError, TimeoutError("slow"), None)
    after = handles.asset_store().get(asset.id)
    assert after.status == AssetStatus.READY
    entry = after.caption("en-GB")
    assert entry is not None and entry.status == CaptionStatus.ERRORED
    assert entry.error is not None and entry.error.code == "captions_failed"


def test_rerun_keeps_a_persons_track_unless_asked(client: httpx.Client, published: str) -> None:
    assert client.put(f"/v1/assets/{published}/captions/en", content=SRT).status_code == 200
    for _ in range(2):  # idempotent
        assert captions.caption_asset(published) == "ready"
        entry = handles.asset_store().get(published).caption("en")
        assert entry is not None and entry.source == CaptionSource.UPLOAD
        assert "A person wrote this." in client.get(f"/v1/assets/{published}/captions/en.vtt").text
    transcript = client.get(f"/v1/assets/{published}/transcript")
    assert transcript.status_code == 200 and transcript.json()["language"] == "en"

    assert captions.caption_asset(published, "en", True) == "ready"  # what generate asks for
    entry = handles.asset_store().get(published).caption("en")
    assert entry is not None and entry.source == CaptionSource.ASR
    assert entry.review == CaptionReview.MACHINE and entry.status == CaptionStatus.READY
    assert master_languages(published) == ["en"]


def test_concurrent_track_changes_and_publishing_lose_nothing(published: str) -> None:
    """Five tracks committed while the publish job rewrites the playlist: all five end listed."""
    store = handles.asset_store()
    languages = ["de", "es", "it", "nl", "pt"]

    def back_to_publishing(a: Asset) -> None:
        a.status = AssetStatus.PREPARING
        a.progress = Progress(stage=Stage.PUBLISH, percent=0)

    store.update(published, back_to_publishing)
    start = threading.Barrier(len(languages) + 1)
    errors: list[BaseException] = []

    def run(work: object) -> None:
        try:
            start.wait()
            work()  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    works = [lambda lang=lang: captions.publisher().replace(
        published, lang, lambda _current, lang=lang: track(lang, f"in {lang}"))
        for lang in languages]
    works.append(lambda: publish_job.publish_asset(published))
    threads = [threading.Thread(target=run, args=(w,)) for w in works]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    asset = store.get(published)
    assert asset.status == AssetStatus.READY
    assert {t.language for t in asset.captions if t.status == CaptionStatus.READY} >= set(languages)
    assert set(master_languages(published)) >= set(languages)


@pytest.fixture
def blocking(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PODIUM_CAPTIONS_BLOCK_READY", "true")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("PODIUM_CAPTIONS_BLOCK_READY")
    get_settings.cache_clear()


def test_block_ready_waits_for_the_caption_track(published: str, blocking: None) -> None:
    store = handles.asset_store()

    def publishing_with_captions_pending(a: Asset) -> None:
        a.status = AssetStatus.PREPARING
        a.progress = Progress(stage=Stage.PUBLISH, percent=0)
        a.captions = []

    store.update(published, publishing_with_captions_pending)
    captions.publisher().set_preparing(published, "en")
    assert publish_job.publish_asset(published) == "ready"
    waiting = store.get(published)
    assert waiting.status == AssetStatus.PREPARING and waiting.progress.stage == Stage.CAPTIONS
    captions.publisher().replace(published, "en", lambda _current: track("en", "done"))
    done = store.get(published)
    assert done.status == AssetStatus.READY and done.progress.stage == Stage.DONE


def test_lock_is_exclusive(published: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = handles.asset_store()
    monkeypatch.setattr(locks, "WAIT_S", 0.2)
    prefix = get_settings().queue_prefix
    with (locks.asset_lock(store, prefix, published), pytest.raises(locks.AssetBusy),
          locks.asset_lock(store, prefix, published)):
        pass
    with locks.asset_lock(store, prefix, published):
        pass  # released again


def test_recognition_progress_shows_on_the_preparing_track(published: str) -> None:
    store = handles.asset_store()

    def preparing(a: Asset) -> None:
        a.captions = [CaptionTrack(language="de", source=CaptionSource.ASR,
                                   status=CaptionStatus.PREPARING)]

    store.update(published, preparing)
    assert store.get(published).captions[0].percent == 0.0  # nothing reported yet
    store.set_caption_progress(published, "de", 42.0)
    assert store.get(published).captions[0].percent == 42.0

    assert captions.caption_asset(published, "en", True) == "ready"
    raw = handles.redis_connection().hget(store._captions_progress_key(published), "en")
    assert raw is not None and float(raw) == 100.0  # the job reported as it went
    tracks = {t.language: t for t in store.get(published).captions}
    assert tracks["en"].status == CaptionStatus.READY and tracks["en"].percent is None
