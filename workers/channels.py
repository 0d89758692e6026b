"""The as-run job: record the items that started since the last run, emit
`channel.item_started` for each, and schedule itself at the next item start."""

from __future__ import annotations

import logging
import time

from ingest.channels.models import ChannelState
from ingest.channels.schedule import EPS, Timeline
from ingest.errors import NotFound
from ingest.lifecycle import channels as lifecycle
from runtime import handles
from workers import pipeline
from workers.events import event_sink

log = logging.getLogger(__name__)
LOOK_AHEAD_BLOCKS = 10_000


def record_as_run(channel_id: str) -> int:
    """Idempotent: a start already recorded is not recorded (nor announced) again."""
    channels = handles.channel_store()
    with channels.as_run_locked(channel_id):
        try:
            timeline = channels.timeline(channel_id)
        except NotFound:
            return 0  # deleted meanwhile
        as_run = channels.as_run(channel_id)
        now = time.time()
        events = lifecycle.record_starts(as_run, timeline, now)
        channels.save_as_run(as_run)
    sink = event_sink()
    for event in events:
        try:
            sink.emit(event)
        except Exception:
            log.exception("event %s of channel %s could not be handed to the sink", event.id,
                          channel_id)
    upcoming = next_item_start(timeline, now)
    if upcoming is not None and timeline.channel.state == ChannelState.ON_AIR:
        pipeline.channel_tick(handles.redis_connection(), channel_id, upcoming)
    return len(events)


def next_item_start(timeline: Timeline, now: float) -> float | None:
    """When the next item (not a slate pass, not an item carrying on) starts after ``now``."""
    for n, block in enumerate(timeline.blocks_from(now)):
        if n > LOOK_AHEAD_BLOCKS or (block.is_slate and block.resume_at is None
                                     and block.cycle is not None):
            return None  # only the slate from here on, until an edit
        if block.start_t > now + EPS and block.discontinuity and not block.is_slate:
            return block.start_t
    return None
