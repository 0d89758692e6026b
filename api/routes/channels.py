"""`/v1/channels`: producers queue ready assets into a run-of-show played as one live stream.

Every edit is "lock, reload, change, save" on the channel document (ChannelStore.update); the
change itself is a pure function of ingest.channels.editing at the request's instant, given the
state of the live streams the channel cuts to (ingest.channels.cuts reads it under the lock).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from redis import Redis

from api import tokens
from api.deps import ChannelsDep, ProducerDep, ProducerFirstRoute, RedisDep, SettingsDep, StoreDep
from api.responses import PRODUCER, errors
from api.schemas import (
    ChannelCreate,
    ChannelCutCreate,
    ChannelCutPublic,
    ChannelItemCreate,
    ChannelItemMove,
    ChannelItemPublic,
    ChannelList,
    ChannelPlayback,
    ChannelPublic,
    ChannelSlate,
    PlaybackToken,
    ScheduleEntry,
)
from config import Settings
from ingest.channels import cuts, editing, rundown, slate
from ingest.channels.compat import check_compatible, load_media, remember
from ingest.channels.models import AsRun, Channel, ChannelMode, Item, new_channel_id
from ingest.channels.models import new_item_id as new_channel_item_id
from ingest.channels.rundown import Slot
from ingest.channels.schedule import Timeline
from ingest.errors import InvalidInput
from ingest.live.store import LiveStreamStore
from runtime import handles
from workers import pipeline

LiveStoreDep = Annotated[LiveStreamStore, Depends(handles.live_store)]

router = APIRouter(prefix="/v1/channels", tags=["channels"], route_class=ProducerFirstRoute,
                   responses=errors(*PRODUCER, 400, 404, 409, 503))
MAX_AHEAD = timedelta(hours=24)


def _stamp(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _slot(slot: Slot | None) -> ChannelItemPublic | None:
    if slot is None:
        return None
    return ChannelItemPublic(id=slot.item_id, asset_id=slot.asset_id, title=slot.title,
                             duration_s=slot.duration_s)


def _cut(slot: rundown.CutSlot | None) -> ChannelCutPublic | None:
    if slot is None:
        return None
    return ChannelCutPublic(live_stream_id=slot.stream_id, title=slot.title,
                            starts_at=_stamp(slot.starts_at),
                            ends_at=_stamp(slot.ends_at) if slot.ends_at is not None else None,
                            scheduled=slot.scheduled)


def channel_public(timeline: Timeline, settings: Settings) -> ChannelPublic:
    channel = timeline.channel
    instant = time.time()
    now, next_ = rundown.now_and_next(timeline, instant)
    base = settings.public_url.rstrip("/")
    items = []
    for item in channel.items:
        media = channel.media.get(item.asset_id)
        items.append(ChannelItemPublic(
            id=item.id, asset_id=item.asset_id, title=media.title if media else "",
            duration_s=media.duration_s if media else 0.0, starts_at=item.starts_at))
    return ChannelPublic(
        id=channel.id, name=channel.name, mode=channel.mode, state=channel.state,
        window_s=channel.window_s, visibility=channel.visibility, languages=channel.languages,
        created_at=channel.created_at, slate_asset_id=channel.slate_asset_id, items=items,
        now=_slot(now), next=_slot(next_), cut=_cut(rundown.live_cut(channel, instant)),
        playback=ChannelPlayback(hls=f"{base}/live/{channel.id}.m3u8",
                                 watch=f"{base}/watch/live/{channel.id}"))


def _public(channel: Channel, settings: Settings) -> ChannelPublic:
    return channel_public(Timeline(channel), settings)


@router.post("", status_code=201, response_model=ChannelPublic)
def create_channel(body: ChannelCreate, _: ProducerDep, settings: SettingsDep,
                   store: StoreDep, redis: RedisDep, channels: ChannelsDep) -> ChannelPublic:
    """Create a channel (idle, empty queue)."""
    channel = Channel(id=new_channel_id(), name=body.name, mode=body.mode,
                      window_s=body.window_s, visibility=body.visibility,
                      languages=body.languages, segment_s=float(settings.segment_duration_s),
                      target_duration=settings.segment_duration_s)
    media = load_media(store, body.slate_asset_id) if body.slate_asset_id \
        else slate.default_media(store)
    if media is not None:
        check_compatible(channel, media)
        remember(channel, media)
        channel.slate_asset_id = media.asset_id
    else:  # the generated card is on its way; `start` picks it up once it is ready
        pipeline.make_slate(redis)
    channels.create(channel)
    return _public(channel, settings)


@router.get("", response_model=ChannelList)
def list_channels(_: ProducerDep, settings: SettingsDep, channels: ChannelsDep) -> ChannelList:
    """Every channel, oldest first."""
    return ChannelList(items=[_public(c, settings) for c in channels.list()])


@router.get("/{channel_id}", response_model=ChannelPublic)
def get_channel(channel_id: str, _: ProducerDep, settings: SettingsDep,
                channels: ChannelsDep) -> ChannelPublic:
    """The channel with its queue, what is on air now and what comes next."""
    return channel_public(channels.timeline(channel_id), settings)


@router.delete("/{channel_id}", status_code=204)
def delete_channel(channel_id: str, _: ProducerDep, channels: ChannelsDep) -> Response:
    """Delete the channel (its stream ends; assets are untouched)."""
    channels.delete(channel_id)
    return Response(status_code=204)


@router.post("/{channel_id}/items", status_code=201, response_model=ChannelPublic)
def add_item(channel_id: str, body: ChannelItemCreate, _: ProducerDep, redis: RedisDep,
             settings: SettingsDep, store: StoreDep, channels: ChannelsDep) -> ChannelPublic:
    """Queue a ready asset at `position` (the end by default); on air from the next boundary.
    409 names what the channel cannot play (segment duration, codec family)."""
    channel = channels.get(channel_id)
    media = load_media(store, body.asset_id)
    check_compatible(channel, media)
    _check_starts_at(channel, body.starts_at)
    item = Item(id=new_channel_item_id(), asset_id=media.asset_id, starts_at=body.starts_at)

    def change(ch: Channel, now: float, feeds: editing.Feeds) -> None:
        remember(ch, media)
        editing.add(ch, item, body.position, now, feeds)
    return _public(_edited(redis, cuts.edit(channels, channel_id, change, time.time)), settings)


def _edited(redis: Redis, channel: Channel) -> Channel:
    """An on-air change: the as-run job looks again where it takes effect (the job is what
    notices item starts and emits `channel.item_started`)."""
    if channel.timeline and channel.timeline[-1].on_air:
        pipeline.channel_tick(redis, channel.id, channel.timeline[-1].from_t)
    return channel


def _check_starts_at(channel: Channel, starts_at: datetime | None, *,
                     linear_only: bool = True) -> None:
    if starts_at is None:
        return
    if linear_only and channel.mode != ChannelMode.LINEAR:
        raise InvalidInput("starts_at is for linear channels; a loop has no fixed times.",
                           code="starts_at_needs_linear")
    if starts_at.tzinfo is None:
        raise InvalidInput("starts_at needs a time zone (e.g. 2026-05-01T09:00:00Z).",
                           code="invalid_starts_at")
    now = datetime.now(UTC)
    if not now < starts_at < now + MAX_AHEAD:
        raise InvalidInput("starts_at must be in the next 24 hours.", code="invalid_starts_at")


@router.delete("/{channel_id}/items/{item_id}", status_code=204)
def remove_item(channel_id: str, item_id: str, _: ProducerDep, redis: RedisDep,
                channels: ChannelsDep) -> Response:
    """Remove an item; if it is on air, the next one follows at the next boundary."""
    _edited(redis, cuts.edit(channels, channel_id,
                             lambda ch, now, feeds: editing.remove(ch, item_id, now, feeds),
                             time.time))
    return Response(status_code=204)


@router.post("/{channel_id}/items/{item_id}/move", response_model=ChannelPublic)
def move_item(channel_id: str, item_id: str, body: ChannelItemMove, _: ProducerDep,
              redis: RedisDep,
              settings: SettingsDep, channels: ChannelsDep) -> ChannelPublic:
    """Move an item to `position` in the queue."""
    channel = cuts.edit(
        channels, channel_id,
        lambda ch, now, feeds: editing.move(ch, item_id, body.position, now, feeds), time.time)
    _edited(redis, channel)
    return _public(channel, settings)


@router.post("/{channel_id}/start", response_model=ChannelPublic)
def start_channel(channel_id: str, _: ProducerDep, redis: RedisDep, settings: SettingsDep,
                  store: StoreDep, channels: ChannelsDep) -> ChannelPublic:
    """Go on air from the top of the queue (409 `slate_not_ready` until a slate is ready)."""
    fallback = slate.default_media(store) if channels.get(channel_id).slate_asset_id is None \
        else None

    def change(ch: Channel) -> None:
        if ch.slate_asset_id is None and fallback is not None:
            ch.media[fallback.asset_id] = fallback
            ch.slate_asset_id = fallback.asset_id
        editing.start(ch, time.time())
    return _public(_edited(redis, channels.update(channel_id, change)), settings)


@router.post("/{channel_id}/stop", response_model=ChannelPublic)
def stop_channel(channel_id: str, _: ProducerDep, redis: RedisDep, settings: SettingsDep,
                 channels: ChannelsDep) -> ChannelPublic:
    """Go off air at the next boundary (the stream then ends)."""
    channel = cuts.edit(channels, channel_id, editing.stop, time.time)
    _edited(redis, channel)
    return _public(channel, settings)


@router.post("/{channel_id}/skip", response_model=ChannelPublic)
def skip_item(channel_id: str, _: ProducerDep, redis: RedisDep, settings: SettingsDep,
              channels: ChannelsDep) -> ChannelPublic:
    """Cut what is on air at the next boundary and go on with what follows."""
    channel = cuts.edit(channels, channel_id, editing.skip, time.time)
    _edited(redis, channel)
    return _public(channel, settings)


@router.put("/{channel_id}/slate", response_model=ChannelPublic)
def replace_slate(channel_id: str, body: ChannelSlate, _: ProducerDep, redis: RedisDep,
                  settings: SettingsDep, store: StoreDep,
                  channels: ChannelsDep) -> ChannelPublic:
    """Show this ready asset in gaps instead of the generated card (from the next boundary)."""
    media = load_media(store, body.asset_id)
    check_compatible(channels.get(channel_id), media)

    def change(ch: Channel, now: float, feeds: editing.Feeds) -> None:
        remember(ch, media)
        editing.set_slate(ch, media.asset_id, now, feeds)
    return _public(_edited(redis, cuts.edit(channels, channel_id, change, time.time)), settings)


@router.post("/{channel_id}/cut", response_model=ChannelPublic)
def cut_to_live(channel_id: str, body: ChannelCutCreate, _: ProducerDep, redis: RedisDep,
                settings: SettingsDep, channels: ChannelsDep,
                streams: LiveStoreDep) -> ChannelPublic:
    """Cut to a live stream at the next boundary (or at `starts_at`), after a discontinuity;
    the queue resumes where it was left when the stream ends or on `cut/end`. 409 names what
    cannot be cut to: a stream not started or ended, a channel off air, segments longer than
    the channel's or another codec family."""
    if body.starts_at is not None:
        _check_starts_at(channels.get(channel_id), body.starts_at, linear_only=False)
        channel = cuts.schedule(channels, streams, channel_id, body.live_stream_id,
                                body.starts_at)
        pipeline.channel_cut(redis, channel_id, body.live_stream_id, body.starts_at)
        return _public(channel, settings)
    channel = cuts.cut_now(channels, streams, channel_id, body.live_stream_id, time.time)
    return _public(_edited(redis, channel), settings)


@router.post("/{channel_id}/cut/end", response_model=ChannelPublic)
def end_live_cut(channel_id: str, _: ProducerDep, redis: RedisDep, settings: SettingsDep,
                 channels: ChannelsDep) -> ChannelPublic:
    """Back to the queue at the end of the live segment in progress (a cut still to come is
    called off); 409 `channel_not_cut` when there is no cut."""
    channel = cuts.back(channels, channel_id, time.time)
    return _public(_edited(redis, channel), settings)


@router.get("/{channel_id}/schedule", response_model=list[ScheduleEntry])
def get_schedule(channel_id: str, _: ProducerDep, channels: ChannelsDep) -> list[ScheduleEntry]:
    """What plays when, from what is on air now (off air: as if started now)."""
    slots = rundown.schedule(channels.timeline(channel_id), time.time())
    return [ScheduleEntry(item_id=s.item_id, asset_id=s.asset_id, title=s.title,
                          starts_at=_stamp(s.starts_at), ends_at=_stamp(s.ends_at),
                          slate=s.is_slate) for s in slots]


@router.get("/{channel_id}/as-run", response_model=AsRun)
def get_as_run(channel_id: str, _: ProducerDep, channels: ChannelsDep) -> AsRun:
    """What actually played and when (recorded by a worker as items start)."""
    channels.get(channel_id)
    return channels.as_run(channel_id)


@router.post("/{channel_id}/playback-tokens", status_code=201, response_model=PlaybackToken)
def create_playback_token(channel_id: str, _: ProducerDep, settings: SettingsDep,
                          channels: ChannelsDep) -> PlaybackToken:
    """A token that lets a viewer watch a private channel (`?token=`)."""
    channels.get(channel_id)
    token, expires = tokens.issue(settings.playback_secret, f"channel:{channel_id}",
                                  settings.playback_token_ttl_s)
    return PlaybackToken(token=token, expires_at=_stamp(expires))
