"""The lifecycle of channels and their items: the only code that changes their state.

    channel: idle ◄──► on_air
    item:    queued ──► on_air ──► played (──► on_air again in a loop)

What plays is decided by the channel document and the clock (ingest.channels.schedule); this
module turns the item starts that have happened into state changes, as-run entries and one
`channel.item_started` event per start. Event ids derive from (channel, item, start), so a job
that records the same start twice emits the same event, which the sink queues once.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from ingest.channels.models import AsRun, AsRunEntry, Channel, ChannelState, ItemState
from ingest.channels.schedule import EPS, Timeline
from ingest.events import Event, EventType
from ingest.lifecycle.machine import StateMachine

S = ItemState
MAX_ENTRIES = 5000

CHANNEL_ITEM = StateMachine[ItemState](
    entity="channel item",
    initial=frozenset({S.QUEUED}),
    transitions={
        S.QUEUED: frozenset({S.ON_AIR}),
        S.ON_AIR: frozenset({S.PLAYED}),
        S.PLAYED: frozenset({S.ON_AIR}),
    },
)


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


def _stamp(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _event_id(channel_id: str, item_id: str, started: float) -> str:
    digest = hashlib.sha256(f"{channel_id}|{item_id}|{started:.3f}".encode()).hexdigest()
    return "msg_" + digest[:24]


def record_starts(log: AsRun, timeline: Timeline, now: float) -> list[Event]:
    """Items that started since the log's last record, up to ``now``: log them, move their
    states (the item before goes `played`), and return the events to emit once saved."""
    channel = timeline.channel
    since = log.recorded_until
    if since is None:
        if not channel.timeline:
            return []
        since = channel.timeline[0].from_t - 1.0
    events: list[Event] = []
    for block in timeline.blocks_from(since):
        if block.start_t > now + EPS:
            break
        if block.start_t <= since + EPS or (not block.discontinuity and log.entries):
            continue  # already recorded, or the same item carrying on past an edit
        _close_current(log, block.start_t)
        if block.is_slate or block.item_id is None:
            continue
        CHANNEL_ITEM.check(log.states.get(block.item_id, S.QUEUED), S.ON_AIR, block.item_id)
        log.states[block.item_id] = S.ON_AIR
        media = channel.media.get(block.asset_id)
        entry = AsRunEntry(item_id=block.item_id, asset_id=block.asset_id,
                           title=media.title if media else "", started_at=_stamp(block.start_t))
        log.entries = [*log.entries, entry][-MAX_ENTRIES:]
        events.append(Event(
            type=EventType.CHANNEL_ITEM_STARTED, id=_event_id(channel.id, entry.item_id,
                                                            block.start_t),
            timestamp=entry.started_at,
            data={"channel_id": channel.id, "item_id": entry.item_id,
                  "asset_id": entry.asset_id, "title": entry.title,
                  "started_at": entry.started_at.isoformat()}))
    log.recorded_until = now
    return events


def _close_current(log: AsRun, at: float) -> None:
    """The item on air gives way: it is `played`, its entry gets an end."""
    if not log.entries or log.entries[-1].ended_at is not None:
        return
    last = log.entries[-1]
    last.ended_at = _stamp(at)
    if log.states.get(last.item_id) == S.ON_AIR:
        CHANNEL_ITEM.check(S.ON_AIR, S.PLAYED, last.item_id)
        log.states[last.item_id] = S.PLAYED
