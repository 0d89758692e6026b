"""Channel items through the lifecycle: starts become as-run entries and one event each."""

from __future__ import annotations

import pytest

from ingest.channels import editing
from ingest.channels.models import AsRun, ChannelState, Item, ItemState
from ingest.channels.schedule import Timeline
from ingest.lifecycle import channels as lifecycle
from ingest.lifecycle.machine import InvalidTransition
from tests.ingest.channels.support import T0, channel

A, B, C = "as-a000000000000000", "as-b000000000000000", "as-c000000000000000"


def test_item_starts_are_recorded_once_with_one_event_each() -> None:
    ch = channel(window_s=60)
    editing.add(ch, Item(id="it-1", asset_id=A), None, T0)
    editing.add(ch, Item(id="it-2", asset_id=B), None, T0)
    editing.start(ch, T0)
    log = AsRun(channel_id=ch.id)
    first = lifecycle.record_starts(log, Timeline(ch), T0 + 5)
    assert [e.data["item_id"] for e in first] == ["it-1"]
    assert log.states == {"it-1": ItemState.ON_AIR}
    later = lifecycle.record_starts(log, Timeline(ch), T0 + 30)
    assert [e.data["item_id"] for e in later] == ["it-2"]
    assert [e.type.value for e in later] == ["channel.item_started"]
    assert log.states == {"it-1": ItemState.PLAYED, "it-2": ItemState.PLAYED}  # slate at 23.74
    assert [(e.item_id, e.started_at.timestamp() - T0) for e in log.entries] == [
        ("it-1", 0.0), ("it-2", 13.5)]
    assert log.entries[0].ended_at is not None
    assert lifecycle.record_starts(log, Timeline(ch), T0 + 30) == []  # nothing twice
    again = AsRun(channel_id=ch.id)  # a job that runs twice emits the same event ids
    assert [e.id for e in lifecycle.record_starts(again, Timeline(ch), T0 + 30)] == \
        [e.id for e in first + later]


def test_an_item_carrying_on_past_an_edit_is_not_a_new_start() -> None:
    ch = channel(window_s=60)
    editing.add(ch, Item(id="it-1", asset_id=C), None, T0)
    editing.start(ch, T0)
    editing.add(ch, Item(id="it-2", asset_id=A), None, T0 + 6)  # it-1 carries on at T0 + 8
    log = AsRun(channel_id=ch.id)
    events = lifecycle.record_starts(log, Timeline(ch), T0 + 20)
    assert [e.data["item_id"] for e in events] == ["it-1"]


def test_channel_state_changes_go_through_the_machine() -> None:
    ch = channel()
    with pytest.raises(InvalidTransition):
        lifecycle.go_off_air(ch)
    lifecycle.go_on_air(ch)
    assert ch.state == ChannelState.ON_AIR
    with pytest.raises(InvalidTransition):
        lifecycle.go_on_air(ch)
