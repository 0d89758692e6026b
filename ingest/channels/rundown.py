"""What a producer sees: now, next and the schedule ahead, read off the compiled timeline."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.channels import editing
from ingest.channels.models import Channel, ChannelState
from ingest.channels.schedule import Block, Timeline
from ingest.lifecycle import channels as lifecycle

MAX_ENTRIES = 20_000


@dataclass(frozen=True)
class Slot:
    """One item (or a slate gap) with its start and end."""

    item_id: str | None
    asset_id: str
    title: str
    starts_at: float
    ends_at: float
    duration_s: float

    @property
    def is_slate(self) -> bool:
        return self.item_id is None


def _slot(channel: Channel, block: Block) -> Slot:
    media = channel.media.get(block.asset_id)
    return Slot(block.item_id, block.asset_id, media.title if media else "", block.start_t,
                block.end_t, media.duration_s if media else block.duration)


def _ahead(timeline: Timeline, now: float) -> Iterator[Block]:
    """Blocks from the one on air at ``now``: the queue's pass, gaps on the slate included, up
    to the slate that ends a linear queue (or one full repetition of a looping one), or to a
    cut to a live stream with no end yet (a cut is not an item: ``live_cut`` tells of it)."""
    for n, block in enumerate(timeline.blocks_from(now)):
        if n >= MAX_ENTRIES or (block.cycle is not None and block.cycle >= 1):
            return
        if block.live is not None:
            if math.isinf(block.end_t):
                return
            continue
        if block.is_slate and block.resume_at is None:
            if n == 0:
                yield block
            return
        yield block


def now_and_next(timeline: Timeline, now: float) -> tuple[Slot | None, Slot | None]:
    """The item on air (None on the slate or off air) and the next item to come."""
    channel = timeline.channel
    if channel.state != ChannelState.ON_AIR:
        first = channel.items[0] if channel.items else None
        media = channel.media.get(first.asset_id) if first else None
        if first is None or media is None:
            return None, None
        return None, Slot(first.id, first.asset_id, media.title, 0, 0, media.duration_s)
    cut = editing.live_cut(channel, now)
    if cut is not None and cut.from_t <= now:  # cut to a live stream: the queue resumes next
        item = cut.queue[cut.position] if cut.position < len(cut.queue) else None
        media = channel.media.get(item.asset_id) if item else None
        if item is None or media is None:
            return None, None
        return None, Slot(item.id, item.asset_id, media.title, 0, 0, media.duration_s)
    current: Slot | None = None
    for n, block in enumerate(_ahead(timeline, now)):
        if n == 0 and block.start_t <= now:
            current = None if block.is_slate else _slot(channel, block)
            continue
        if not block.is_slate:
            return current, _slot(channel, block)
    return current, None


@dataclass(frozen=True)
class CutSlot:
    """A cut to a live stream: pending (``starts_at`` ahead), on air, or set for a time."""

    stream_id: str
    title: str
    starts_at: float
    ends_at: float | None
    """When the queue comes back, once known (the producer cut back)."""
    scheduled: bool = False


def live_cut(channel: Channel, now: float) -> CutSlot | None:
    """The cut on air or coming (made, or set for a time), if any."""
    epochs = channel.timeline
    for n in range(len(epochs) - 1, -1, -1):
        cut = epochs[n].live
        ends = epochs[n + 1].from_t if n + 1 < len(epochs) else None
        if cut is None or channel.state != ChannelState.ON_AIR:
            continue
        if ends is None or ends > now:
            source = channel.live_sources.get(cut.stream_id)
            return CutSlot(cut.stream_id, source.title if source else "", epochs[n].from_t,
                           ends)
        break
    if channel.scheduled_cuts:
        first = channel.scheduled_cuts[0]
        return CutSlot(first.stream_id, first.title, first.at.timestamp(), None, scheduled=True)
    return None


def schedule(timeline: Timeline, now: float) -> list[Slot]:
    """The rundown from what is on air now; a slate gap shows as one entry. Off air, the
    rundown as it would play if the channel started now."""
    if timeline.channel.state != ChannelState.ON_AIR:
        timeline = Timeline(preview(timeline.channel, now))
    slots: list[Slot] = []
    for block in _ahead(timeline, now):
        slot = _slot(timeline.channel, block)
        if slots and slot.is_slate and slots[-1].is_slate:
            slots[-1] = Slot(None, slot.asset_id, slot.title, slots[-1].starts_at, slot.ends_at,
                             slot.ends_at - slots[-1].starts_at)
        else:
            slots.append(slot)
    return slots


def preview(channel: Channel, now: float) -> Channel:
    """A copy of the channel as if it went on air at ``now`` (even without a slate yet)."""
    copy = channel.model_copy(deep=True)
    copy.timeline = []
    if copy.state == ChannelState.ON_AIR:
        lifecycle.go_off_air(copy)
    slate = copy.slate_asset_id
    if slate not in copy.media:
        copy.slate_asset_id = next(iter(copy.media), None)
    if copy.slate_asset_id is None:
        return copy
    editing.start(copy, now)
    copy.timeline[-1].slate_asset_id = slate if slate in copy.media else None
    return copy
