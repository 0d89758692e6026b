"""AssetLifecycle.update against the real store (Redis + S3): events only for saved changes,
once per transition; an illegal change saves nothing."""

from __future__ import annotations

import pytest

from ingest.assets.models import Asset, AssetStatus, Stage, new_asset_id
from ingest.assets.public import public_asset
from ingest.events import CollectingSink, Event, EventType
from ingest.lifecycle import assets as lifecycle
from ingest.lifecycle.assets import AssetLifecycle
from ingest.lifecycle.machine import InvalidTransition
from ingest.storage import keys
from runtime import handles
from tests.conftest import Stack


@pytest.fixture
def assets(stack: Stack) -> AssetLifecycle:
    return AssetLifecycle(handles.asset_store(), CollectingSink(), "http://podium.test")


def sink_of(assets: AssetLifecycle) -> CollectingSink:
    assert isinstance(assets.sink, CollectingSink)
    return assets.sink


def stored(asset_id: str) -> Asset:
    return Asset.model_validate_json(handles.storage().get_bytes(keys.asset_record(asset_id)))


def test_one_event_per_transition_after_the_save(assets: AssetLifecycle) -> None:
    asset = assets.create(Asset(id=new_asset_id(), title="lifecycle"))
    seen: list[AssetStatus] = []

    def enter(a: Asset) -> None:
        lifecycle.enter_stage(a, Stage.PUBLISH)

    assets.update(asset.id, enter)
    assets.update(asset.id, lambda a: lifecycle.publish(a, wait_for_captions=False),
                  then=lambda a: seen.append(stored(a.id).status))
    assert seen == [AssetStatus.READY], "saved before anything else happens"
    assert sink_of(assets).types == [EventType.ASSET_READY]
    assert sink_of(assets).events[0].data["status"] == "ready"
    # the same work again: refused (a final state), nothing saved, nothing emitted
    with pytest.raises(InvalidTransition):
        assets.update(asset.id, lambda a: lifecycle.publish(a, wait_for_captions=False))
    with pytest.raises(InvalidTransition):
        assets.update(asset.id, lambda a: lifecycle.fail(a, "late", "A late failure."))
    assert stored(asset.id).status == AssetStatus.READY and stored(asset.id).error is None
    assert sink_of(assets).types == [EventType.ASSET_READY]
    handles.asset_store().delete(asset.id)


def test_an_illegal_change_saves_nothing(assets: AssetLifecycle) -> None:
    asset = assets.create(Asset(id=new_asset_id(), title="lifecycle"))

    def renamed_then_published(a: Asset) -> None:
        a.title = "renamed"
        lifecycle.publish(a, wait_for_captions=False)  # waiting → ready: refused

    with pytest.raises(InvalidTransition):
        assets.update(asset.id, renamed_then_published)
    assert stored(asset.id).title == "lifecycle" and stored(asset.id).status == "waiting"
    assert sink_of(assets).events == []
    handles.asset_store().delete(asset.id)


def test_events_go_out_even_when_the_follow_up_fails(assets: AssetLifecycle) -> None:
    asset = assets.create(Asset(id=new_asset_id(), title="lifecycle"))

    def storage_hiccup(_: Asset) -> None:
        raise ConnectionError("the playlist could not be written")

    with pytest.raises(ConnectionError):
        assets.update(asset.id, lambda a: lifecycle.fail(a, "probe_failed", "Unreadable."),
                      then=storage_hiccup)
    assert stored(asset.id).status == AssetStatus.ERRORED
    assert sink_of(assets).types == [EventType.ASSET_ERRORED]
    handles.asset_store().delete(asset.id)


class FailingOnce(CollectingSink):
    """A sink that is down for its first hand-over (Redis gone, the process about to die)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    def emit(self, event: Event) -> None:
        if self.down:
            self.down = False
            raise ConnectionError("sink unavailable")
        super().emit(event)


def test_an_event_not_handed_over_is_kept_and_sent_later_under_its_id(stack: Stack) -> None:
    sink = FailingOnce()
    assets = AssetLifecycle(handles.asset_store(), sink, "http://podium.test")
    asset = assets.create(Asset(id=new_asset_id(), title="outbox"))
    assets.update(asset.id, lambda a: lifecycle.fail(a, "probe_failed", "Unreadable."))
    assert sink.events == []
    [pending] = stored(asset.id).outbox
    assert pending.type == EventType.ASSET_ERRORED and pending.data["status"] == "errored"
    assert pending.data.keys() == set(public_asset(stored(asset.id), "http://x"))
    assets.flush(asset.id)
    assert [(e.id, e.type) for e in sink.events] == [(pending.id, EventType.ASSET_ERRORED)]
    assert stored(asset.id).outbox == []
    assets.flush(asset.id)
    assert len(sink.events) == 1, "sent once"
    handles.asset_store().delete(asset.id)


def test_a_normal_change_leaves_the_outbox_empty(assets: AssetLifecycle) -> None:
    asset = assets.create(Asset(id=new_asset_id(), title="outbox"))
    assets.update(asset.id, lambda a: lifecycle.fail(a, "probe_failed", "Unreadable."))
    assert stored(asset.id).outbox == [] and sink_of(assets).types == [EventType.ASSET_ERRORED]
    handles.asset_store().delete(asset.id)
