"""Cutting a channel to a live stream and back, on the stores: what the API's routes and the
scheduled cut job share. Every change reads the live streams' state after taking the channel's
lock (``live.load_feeds``), so a boundary is never placed before a segment a viewer saw."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ingest.channels import editing, live
from ingest.channels.models import Channel, ScheduledCut
from ingest.channels.store import ChannelStore
from ingest.live.models import LiveStatus
from ingest.live.store import LiveStreamStore

Edit = Callable[[Channel, float, editing.Feeds], None]


def edit(channels: ChannelStore, channel_id: str, change: Edit,
         clock: Callable[[], float]) -> Channel:
    """``change(channel, now, feeds)`` under the channel's lock, with fresh live snapshots."""
    def apply(channel: Channel) -> None:
        change(channel, clock(), live.load_feeds(channels.storage, channel))
    return channels.update(channel_id, apply)


def check_stream(streams: LiveStreamStore, channel: Channel, stream_id: str) -> str:
    """What can be known before the cut: the stream exists, has not ended, and (once it has
    published) plays in this channel. Its title."""
    stream = streams.get(stream_id)
    if stream.status == LiveStatus.ENDED:
        raise live.LiveStreamUnavailable(f"Live stream {stream_id} has ended.",
                                         code="live_stream_ended")
    hls = live.load_hls(streams.storage, stream_id)
    if hls is not None and hls.segments:
        live.check_compatible(channel, live.source_of(stream, hls))
    return stream.title


def cut_now(channels: ChannelStore, streams: LiveStreamStore, channel_id: str, stream_id: str,
            clock: Callable[[], float]) -> Channel:
    """Cut to the stream at the next boundary (409 when it has nothing to show or cannot
    play in this channel); a fixed-time cut to it still waiting is done with."""
    stream = streams.get(stream_id)

    def change(channel: Channel, now: float, feeds: editing.Feeds) -> None:
        editing.require_on_air(channel)
        hls = live.load_hls(streams.storage, stream_id)
        source = live.source_of(stream, hls)
        live.check_compatible(channel, source)
        assert hls is not None
        editing.cut(channel, source, live.cut_of(stream_id, hls), now, feeds)
        channel.scheduled_cuts = [c for c in channel.scheduled_cuts if c.stream_id != stream_id]
    return edit(channels, channel_id, change, clock)


def schedule(channels: ChannelStore, streams: LiveStreamStore, channel_id: str,
             stream_id: str, at: datetime) -> Channel:
    """Remember a cut to make at ``at`` (a job makes it then, ``cut_now``)."""
    title = check_stream(streams, channels.get(channel_id), stream_id)

    def change(channel: Channel) -> None:
        kept = [c for c in channel.scheduled_cuts if c.at != at]
        channel.scheduled_cuts = sorted(
            [*kept, ScheduledCut(stream_id=stream_id, at=at, title=title)], key=lambda c: c.at)
    return channels.update(channel_id, change)


def back(channels: ChannelStore, channel_id: str, clock: Callable[[], float]) -> Channel:
    """Back to the queue (or, before a fixed-time cut, call it off)."""
    def change(channel: Channel, now: float, feeds: editing.Feeds) -> None:
        if editing.live_cut(channel, now) is None and channel.scheduled_cuts:
            channel.scheduled_cuts = []
            editing.touch(channel)
            return
        editing.end_cut(channel, now, feeds)
    return edit(channels, channel_id, change, clock)


def still_scheduled(channel: Channel, stream_id: str, at: datetime) -> bool:
    return any(c.stream_id == stream_id and c.at == at for c in channel.scheduled_cuts)


def drop_scheduled(channels: ChannelStore, channel_id: str, stream_id: str,
                   at: datetime) -> None:
    def change(channel: Channel) -> None:
        channel.scheduled_cuts = [c for c in channel.scheduled_cuts
                                  if not (c.stream_id == stream_id and c.at == at)]
    channels.update(channel_id, change)


def settle_all(channels: ChannelStore, stream_id: str, clock: Callable[[], float]) -> list[str]:
    """Write down the queue's return in every channel cut to a stream that has ended; the
    channels changed."""
    changed: list[str] = []

    def settle(channel: Channel, _now: float, feeds: editing.Feeds) -> None:
        if editing.settle(channel, feeds):
            changed.append(channel.id)
    for channel in channels.list():
        last = channel.timeline[-1] if channel.timeline else None
        if last is not None and last.live is not None and last.live.stream_id == stream_id:
            edit(channels, channel.id, settle, clock)
    return changed

