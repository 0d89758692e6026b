"""The asset lifecycle's changes and the events they cause (pure: no store involved)."""

from __future__ import annotations

import pytest

from ingest.assets.models import (
    Asset,
    AssetStatus,
    CaptionReview,
    CaptionSource,
    CaptionStatus,
    Stage,
)
from ingest.events import EventType
from ingest.lifecycle import assets as lifecycle
from ingest.lifecycle.assets import Snapshot, check_change, events_between
from ingest.lifecycle.machine import InvalidTransition

URL = "https://podium.example"


def asset(status: AssetStatus = AssetStatus.WAITING) -> Asset:
    a = Asset(id="as-0123456789abcdef", title="Keynote")
    if status != AssetStatus.WAITING:
        lifecycle.enter_stage(a, Stage.PROBE)
    if status == AssetStatus.READY:
        lifecycle.publish(a, wait_for_captions=False)
    elif status == AssetStatus.ERRORED:
        lifecycle.fail(a, "probe_failed", "Unreadable.")
    return a


def test_stages_keep_the_asset_preparing_and_publish_makes_it_ready() -> None:
    a = asset()
    before = Snapshot.of(a)
    lifecycle.enter_stage(a, Stage.PROBE)
    assert (a.status, a.progress.stage, a.progress.percent) == (AssetStatus.PREPARING,
                                                                Stage.PROBE, 0)
    assert events_between(before, a, URL) == []
    lifecycle.enter_stage(a, Stage.TRANSCODE)
    before = Snapshot.of(a)
    lifecycle.publish(a, wait_for_captions=False)
    assert a.status == AssetStatus.READY and a.progress.stage == Stage.DONE
    [event] = events_between(before, a, URL)
    assert event.type == EventType.ASSET_READY
    assert event.id.startswith("msg_") and len(event.id) == 28
    assert event.data["id"] == a.id and event.data["status"] == "ready"
    assert event.data["playback"] == {"hls": f"{URL}/play/{a.id}.m3u8"}
    assert set(event.data) == {"id", "status", "title", "speaker", "language", "visibility",
                               "created_at", "duration_s", "progress", "renditions",
                               "captions", "playback", "error", "poster", "upload_id",
                               "version", "playing_version", "playable"}


def test_the_event_data_is_the_api_view_of_the_asset() -> None:
    from api.schemas import AssetPublic

    a = asset(AssetStatus.READY)
    [event] = events_between(Snapshot(AssetStatus.PREPARING, {}), a, URL)
    assert event.data == AssetPublic.of(a, URL).model_dump(mode="json")


@pytest.mark.parametrize("status", [AssetStatus.READY, AssetStatus.ERRORED])
def test_final_assets_refuse_every_change(status: AssetStatus) -> None:
    a = asset(status)
    for change in (lambda: lifecycle.enter_stage(a, Stage.PROBE),
                   lambda: lifecycle.publish(a, wait_for_captions=False),
                   lambda: lifecycle.fail(a, "processing_failed", "late retry")):
        with pytest.raises(InvalidTransition):
            change()
    assert a.status == status


def test_a_waiting_asset_cannot_be_published() -> None:
    a = asset()
    with pytest.raises(InvalidTransition):
        lifecycle.publish(a, wait_for_captions=False)
    assert a.status == AssetStatus.WAITING


def test_failing_emits_asset_errored_with_the_reason() -> None:
    a = asset(AssetStatus.PREPARING)
    before = Snapshot.of(a)
    lifecycle.fail(a, "transcode_failed", "The video could not be decoded.")
    [event] = events_between(before, a, URL)
    assert event.type == EventType.ASSET_ERRORED
    assert event.data["error"] == {"code": "transcode_failed",
                                   "message": "The video could not be decoded."}
    assert event.data["playback"] is None


def test_holding_for_captions_then_settling() -> None:
    a = asset(AssetStatus.PREPARING)
    lifecycle.track_preparing(a, "en")
    before = Snapshot.of(a)
    lifecycle.publish(a, wait_for_captions=True)
    assert a.status == AssetStatus.PREPARING and a.progress.stage == Stage.CAPTIONS
    assert events_between(before, a, URL) == []
    lifecycle.settle_readiness(a)
    assert a.status == AssetStatus.PREPARING, "a track is still being prepared"
    lifecycle.track_ready(a, "en", CaptionSource.ASR, CaptionReview.MACHINE)
    lifecycle.settle_readiness(a)
    assert a.status == AssetStatus.READY
    types = [e.type for e in events_between(before, a, URL)]
    assert types == [EventType.CAPTIONS_READY, EventType.ASSET_READY]


def test_captions_ready_data_and_when_it_is_emitted() -> None:
    a = asset(AssetStatus.READY)
    track = lifecycle.track_preparing(a, "en")
    assert (track.source, track.review, track.status) == (CaptionSource.ASR,
                                                          CaptionReview.MACHINE,
                                                          CaptionStatus.PREPARING)
    before = Snapshot.of(a)
    lifecycle.track_ready(a, "en", CaptionSource.ASR, CaptionReview.MACHINE)
    [event] = events_between(before, a, URL)
    assert event.type == EventType.CAPTIONS_READY
    assert event.data == {
        "asset_id": a.id, "language": "en", "source": "asr", "status": "ready",
        "review": "machine", "error": None, "translation_of": None,
        "vtt": f"{URL}/v1/assets/{a.id}/captions/en.vtt",
        "srt": f"{URL}/v1/assets/{a.id}/captions/en.srt"}
    # an edit of a ready track is no new transition
    before = Snapshot.of(a)
    lifecycle.track_ready(a, "en", CaptionSource.UPLOAD, CaptionReview.EDITED)
    assert events_between(before, a, URL) == []


def test_a_failed_regeneration_keeps_the_published_track_ready_without_an_event() -> None:
    a = asset(AssetStatus.READY)
    lifecycle.track_preparing(a, "en")
    lifecycle.track_ready(a, "en", CaptionSource.UPLOAD, CaptionReview.EDITED)
    lifecycle.track_preparing(a, "en")
    before = Snapshot.of(a)
    kept = lifecycle.track_failed(a, "en", "asr_failed", "No speech.", still_published=True)
    assert kept.status == CaptionStatus.READY and kept.error is not None
    assert (kept.source, kept.review) == (CaptionSource.UPLOAD, CaptionReview.EDITED)
    assert events_between(before, a, URL) == []
    gone = lifecycle.track_failed(a, "fr", "asr_failed", "No speech.", still_published=False)
    assert gone.status == CaptionStatus.ERRORED


def test_a_ready_track_never_becomes_errored() -> None:
    a = asset(AssetStatus.READY)
    lifecycle.track_ready(a, "en", CaptionSource.UPLOAD, CaptionReview.EDITED)
    with pytest.raises(InvalidTransition):
        lifecycle.track_failed(a, "en", "asr_failed", "x", still_published=False)
    track = a.caption("en")
    assert track is not None and track.status == CaptionStatus.READY


def test_the_net_change_is_checked_even_when_set_by_hand() -> None:
    a = asset(AssetStatus.READY)
    before = Snapshot.of(a)
    object.__setattr__(a, "status", AssetStatus.PREPARING)  # bypassing the lifecycle
    with pytest.raises(InvalidTransition):
        check_change(before, a)


def test_a_replacement_starts_over_while_the_last_ready_version_plays() -> None:
    a = asset(AssetStatus.READY)
    a.video_kbps = {"360p": 300}
    assert (a.version, a.published_version, a.playing_version) == (0, 0, 0)
    before = Snapshot.of(a)
    lifecycle.replace(a, 1)
    check_change(before, a)
    assert (a.status, a.version, a.playing_version) == (AssetStatus.WAITING, 1, 0)
    assert a.source is None and a.error is None and a.progress.stage == Stage.QUEUED
    assert a.video_kbps is None, "the new video gets its own per-title analysis"
    assert events_between(before, a, URL) == []
    with pytest.raises(lifecycle.AssetProcessing):  # not while this version is processed
        lifecycle.replace(a, 2)
    lifecycle.enter_stage(a, Stage.PROBE)
    assert a.playing_version == 0
    lifecycle.fail(a, "probe_failed", "Unreadable.")
    assert a.playing_version == 0, "a failed replacement leaves the old version playing"
    lifecycle.replace(a, 2)
    lifecycle.enter_stage(a, Stage.PUBLISH)
    before = Snapshot.of(a)
    lifecycle.publish(a, wait_for_captions=False)
    assert (a.status, a.published_version, a.playing_version) == (AssetStatus.READY, 2, 2)
    [event] = events_between(before, a, URL)
    assert event.type == EventType.ASSET_READY and event.data["version"] == 2
    with pytest.raises(lifecycle.AssetProcessing) as stale:
        lifecycle.replace(a, 2)
    assert stale.value.code == "stale_version"


def test_an_asset_never_ready_has_nothing_to_play() -> None:
    a = asset(AssetStatus.ERRORED)
    assert a.playing_version is None
    assert Asset.model_validate_json(asset(AssetStatus.READY).model_dump_json(
        exclude={"published_version"})).playing_version == 0, "records from before versions"
