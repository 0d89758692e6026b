"""Producer edits: pure changes of the channel document at an instant ``now``.

The queue (``items``) changes at once. On air, the change reaches the stream at the end of the
segment in progress (boundary B): a new epoch "from B, play this queue from this cursor" is
appended to the timeline. Everything up to B was computed from the older epochs, which never
change, so segments already listed keep their URI and sequence number. Two edits within one
segment both land at B: the later epoch replaces the pending one (it was never played).

A cut to a live stream is an epoch too (``cut``, ``end_cut``); its cursor is where the queue
resumes after it. While a cut is pending or on air, queue edits change that cursor in place
(nothing of it has played), so the cut goes on. Functions that may meet a cut take the live
streams' snapshots (``feeds``), read after the channel's lock was taken.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from ingest.channels import live
from ingest.channels.models import Channel, ChannelState, Epoch, Item, LiveCut, LiveSource
from ingest.channels.schedule import EPS, PlayedSegment, Timeline
from ingest.errors import Conflict, InvalidInput, NotFound
from ingest.lifecycle import channels as lifecycle

_Change = Callable[[list[Item]], None]
Feeds = dict[str, live.LiveFeed]
PRUNE_MARGIN_S = 120.0
"""Epochs that ended this long before the oldest window are dropped from the document."""


class ItemNotFound(NotFound):
    code = "channel_item_not_found"


def add(channel: Channel, item: Item, position: int | None, now: float,
        feeds: Feeds | None = None) -> None:
    """Insert ``item`` at ``position`` (the end when None)."""
    def change(items: list[Item]) -> None:
        items.insert(len(items) if position is None else _clamp(position, len(items)), item)
    _edit(channel, now, change, feeds=feeds)


def remove(channel: Channel, item_id: str, now: float, feeds: Feeds | None = None) -> None:
    _find(channel, item_id)
    _edit(channel, now, lambda items: items.remove(_find(channel, item_id)), feeds=feeds)


def move(channel: Channel, item_id: str, position: int, now: float,
         feeds: Feeds | None = None) -> None:
    item = _find(channel, item_id)

    def change(items: list[Item]) -> None:
        items.remove(item)
        items.insert(_clamp(position, len(items)), item)
    _edit(channel, now, change, feeds=feeds)


def skip(channel: Channel, now: float, feeds: Feeds | None = None) -> None:
    """Cut what is on screen at the next boundary and go on with what follows it (in a cut
    to a live stream: back to the queue)."""
    if channel.state != ChannelState.ON_AIR:
        raise Conflict("The channel is not on air: nothing to skip.", code="channel_not_on_air")
    settle(channel, feeds)
    if channel.timeline and channel.timeline[-1].live is not None:
        end_cut(channel, now, feeds)
        return
    _edit(channel, now, lambda items: None, skip=True, feeds=feeds)


def set_slate(channel: Channel, asset_id: str, now: float, feeds: Feeds | None = None) -> None:
    """Use another asset as the slate from the next boundary on."""
    channel.slate_asset_id = asset_id
    _edit(channel, now, lambda items: None, feeds=feeds)


# --- cuts to a live stream ---------------------------------------------------------------------
class NotCut(Conflict):
    code = "channel_not_cut"


def cut(channel: Channel, source: LiveSource, to: LiveCut, now: float,
        feeds: Feeds | None = None) -> None:
    """Cut to a live stream at the end of the segment in progress: ``to`` (its latest
    published segment, ``live.cut_of``) plays first, after a discontinuity. The queue resumes
    after the cut where it was left (the rest of the item on air, or the next one)."""
    require_on_air(channel)
    settle(channel, feeds)
    last = channel.timeline[-1]
    if last.live is not None and last.live.stream_id == to.stream_id:
        return  # cut to it already (pending or on air)
    timeline = Timeline(channel, feeds)
    t, seq, disc = timeline.cut_point(now)
    if last.live is not None:
        _resume_later(channel, last)
        position, segment = last.position, last.segment
    else:
        current = timeline.segment_at(now)
        position, segment, _ = _cursor(channel, timeline, current, skip=False) \
            if current is not None else (0, 0, False)
    channel.live_sources[source.stream_id] = source
    _append(channel, Epoch(from_t=t, seq=seq, disc=disc, queue=list(channel.items),
                           position=position, segment=segment,
                           slate_asset_id=channel.slate_asset_id, live=to))
    _prune(channel, now)
    _touch(channel)


def require_on_air(channel: Channel) -> None:
    if channel.state != ChannelState.ON_AIR:
        raise Conflict("The channel is not on air: start it before cutting to a live stream.",
                       code="channel_not_on_air")


def end_cut(channel: Channel, now: float, feeds: Feeds | None = None) -> None:
    """Back to the queue at the end of the live segment in progress (a cut still pending is
    called off)."""
    settle(channel, feeds)
    last = channel.timeline[-1] if channel.timeline else None
    if last is None or last.live is None or channel.state != ChannelState.ON_AIR:
        raise NotCut("The channel is not cut to a live stream.")
    if last.from_t > now + EPS:  # not on air yet: the queue simply goes on
        channel.timeline.pop()
        _touch(channel)
        _edit(channel, now, lambda items: None, feeds=feeds)
        return
    t, seq, disc = Timeline(channel, feeds).cut_point(now)
    _resume_later(channel, last)
    _append(channel, Epoch(from_t=t, seq=seq, disc=disc, queue=list(last.queue),
                           position=last.position, segment=last.segment,
                           slate_asset_id=channel.slate_asset_id))
    _prune(channel, now)
    _touch(channel)


def settle(channel: Channel, feeds: Feeds | None) -> bool:
    """Write down the queue's return after a cut whose stream has ended (the timeline shows
    it already, ``live.after_end``): later edits then start from it. Whether it changed."""
    last = channel.timeline[-1] if channel.timeline else None
    if last is None or last.live is None or not feeds:
        return False
    follow = live.after_end(last, feeds.get(last.live.stream_id))
    if follow is None:
        return False
    channel.timeline.append(follow)
    _touch(channel)
    return True


def live_cut(channel: Channel, now: float) -> Epoch | None:
    """The cut pending or on air at ``now`` (the last epoch, if it is one)."""
    last = channel.timeline[-1] if channel.timeline else None
    if channel.state != ChannelState.ON_AIR or last is None or last.live is None:
        return None
    return last


def _resume_later(channel: Channel, epoch: Epoch) -> None:
    """The cut's cursor, moved into the queue as it is now: the same item (and segment) if it
    is still queued, else the item that followed it."""
    old = epoch.queue
    ids = {item.id: pos for pos, item in enumerate(channel.items)}
    anchor = old[epoch.position].id if epoch.position < len(old) else None
    if anchor is not None and anchor in ids:
        epoch.position = ids[anchor]
    else:
        epoch.position, epoch.segment = _follow(old, epoch.position, ids, inclusive=True), 0
    epoch.queue = list(channel.items)
    epoch.slate_asset_id = channel.slate_asset_id


def start(channel: Channel, now: float) -> None:
    """Go on air now from the top of the queue (a stop still pending is simply cancelled)."""
    if channel.state == ChannelState.ON_AIR:
        return
    if channel.slate_asset_id not in channel.media:
        raise Conflict("The channel's slate is not ready yet; try again in a moment.",
                       code="slate_not_ready")
    lifecycle.go_on_air(channel)
    last = channel.timeline[-1] if channel.timeline else None
    if last is not None and not last.on_air and last.from_t > now + EPS:
        channel.timeline.pop()  # stopped and restarted within one segment: never went off
        _touch(channel)
        return
    seq, disc = (last.seq, last.disc) if last is not None else (0, 0)
    channel.timeline.append(Epoch(from_t=now, seq=seq, disc=disc, queue=list(channel.items),
                                  continues=last is None, slate_asset_id=channel.slate_asset_id))
    _prune(channel, now)
    _touch(channel)


def stop(channel: Channel, now: float, feeds: Feeds | None = None) -> None:
    """Go off air at the end of the segment in progress."""
    if channel.state != ChannelState.ON_AIR:
        return
    settle(channel, feeds)
    t, seq, disc = Timeline(channel, feeds).cut_point(now)
    lifecycle.go_off_air(channel)
    _append(channel, Epoch(from_t=t, seq=seq, disc=disc, on_air=False))
    _prune(channel, now)
    _touch(channel)


# --- the one way an edit reaches the stream ----------------------------------------------------
def _edit(channel: Channel, now: float, change: _Change, *, skip: bool = False,
          feeds: Feeds | None = None) -> None:
    on_air = channel.state == ChannelState.ON_AIR
    if on_air:
        settle(channel, feeds)
    timeline = Timeline(channel, feeds) if on_air else None
    current = timeline.segment_at(now) if timeline is not None else None
    change(channel.items)
    _touch(channel)
    cut_now = live_cut(channel, now)
    if cut_now is not None:  # pending or on air: only where the queue resumes changes
        _resume_later(channel, cut_now)
        return
    if timeline is None or current is None:
        return
    position, segment, continues = _cursor(channel, timeline, current, skip)
    _append(channel, Epoch(from_t=current.end, seq=current.seq + 1, disc=current.disc,
                           queue=list(channel.items), position=position, segment=segment,
                           continues=continues, slate_asset_id=channel.slate_asset_id))
    _prune(channel, now)


def _cursor(channel: Channel, timeline: Timeline, current: PlayedSegment,
            skip: bool) -> tuple[int, int, bool]:
    """Where the queue (``channel.items``) goes on after ``current``: position, segment, and
    whether that follows ``current`` with no discontinuity (the same item carrying on)."""
    following = next(timeline.segments_from(current.end + EPS), None)
    if following is not None and following.seq != current.seq + 1:
        following = None
    epoch = timeline.epochs[current.epoch]
    old_queue = epoch.queue
    ids = {item.id: pos for pos, item in enumerate(channel.items)}
    carries_on = (not skip and current.item_id in ids and following is not None
                  and following.item_id == current.item_id
                  and following.index == current.index + 1 and not following.discontinuity)
    if carries_on:
        assert current.item_id is not None and following is not None
        return ids[current.item_id], following.index, True
    if current.block.live is not None:  # after a cut: where it would have resumed the queue
        anchor = old_queue[epoch.position].id if epoch.position < len(old_queue) else None
        if anchor in ids:
            return ids[anchor], epoch.segment, False
        return _follow(old_queue, epoch.position, ids, inclusive=True), 0, False
    return _resume(current, old_queue, ids), 0, False


def _resume(current: PlayedSegment, old_queue: Sequence[Item], ids: dict[str, int]) -> int:
    """Position in the new queue of what follows ``current``: the item after it; after a
    slate, the item the slate was waiting for (or the one after the item before it)."""
    block = current.block
    if not block.is_slate:
        assert block.position is not None
        return _follow(old_queue, block.position, ids, inclusive=False)
    if block.resume_at is not None:
        return _follow(old_queue, _old_position(old_queue, block.resume_at), ids, inclusive=True)
    if block.after is None:
        return 0
    return _follow(old_queue, _old_position(old_queue, block.after), ids, inclusive=False)


def _old_position(queue: Sequence[Item], item_id: str) -> int:
    return next((p for p, i in enumerate(queue) if i.id == item_id), len(queue))


def _follow(old_queue: Sequence[Item], anchor: int, ids: dict[str, int], *,
            inclusive: bool) -> int:
    """Where the new queue goes on from ``old_queue[anchor]``: that item (or the one after it)
    if still queued, else the first later item still queued, else after the nearest earlier."""
    if anchor >= len(old_queue):
        return len(ids)
    anchor_id = old_queue[anchor].id
    if anchor_id in ids:
        return ids[anchor_id] + (0 if inclusive else 1)
    for item in old_queue[anchor + 1:]:
        if item.id in ids:
            return ids[item.id]
    for item in reversed(old_queue[:anchor]):
        if item.id in ids:
            return ids[item.id] + 1
    return 0


def _append(channel: Channel, epoch: Epoch) -> None:
    """Append, replacing epochs that would begin at the same boundary (never played)."""
    while channel.timeline and channel.timeline[-1].from_t >= epoch.from_t - EPS:
        channel.timeline.pop()
    channel.timeline.append(epoch)


def _prune(channel: Channel, now: float) -> None:
    """Drop epochs that ended before anything a window can still show."""
    horizon = now - channel.window_s - PRUNE_MARGIN_S
    while len(channel.timeline) > 1 and channel.timeline[1].from_t < horizon:
        channel.timeline.pop(0)


def touch(channel: Channel) -> None:
    """A change the playlists must see: a new revision."""
    channel.revision += 1
    channel.updated_at = datetime.now(UTC)


_touch = touch


def _find(channel: Channel, item_id: str) -> Item:
    item = channel.item(item_id)
    if item is None:
        raise ItemNotFound(f"Channel {channel.id} has no item {item_id!r}.")
    return item


def _clamp(position: int, length: int) -> int:
    if position < 0:
        raise InvalidInput("position must be 0 or more.", code="invalid_position")
    return min(position, length)


