"""The lifecycle of a channel: `idle` ⇄ `on_air` (ingest.channels.editing starts and stops it).
Channel items and `channel.item_started` follow the same pattern (a table and the functions
that are the only writers of the state)."""

from __future__ import annotations

from ingest.channels.models import Channel, ChannelState
from ingest.lifecycle.machine import StateMachine

CHANNEL = StateMachine[ChannelState](
    entity="channel",
    initial=frozenset({ChannelState.IDLE}),
    transitions={
        ChannelState.IDLE: frozenset({ChannelState.ON_AIR}),
        ChannelState.ON_AIR: frozenset({ChannelState.IDLE}),
    },
)


def go_on_air(channel: Channel) -> None:
    CHANNEL.check(channel.state, ChannelState.ON_AIR, channel.id)
    channel.state = ChannelState.ON_AIR


def go_off_air(channel: Channel) -> None:
    CHANNEL.check(channel.state, ChannelState.IDLE, channel.id)
    channel.state = ChannelState.IDLE
