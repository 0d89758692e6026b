"""The as-run job: record the items that started since the last run, emit
`channel.item_started` for each, and schedule itself at the next item start. The jobs of cuts
to live streams: a cut set for a time, and the queue's return when a stream ends."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from ingest.channels import cuts
from ingest.channels.live import LiveStreamUnavailable
from ingest.channels.models import ChannelState
from ingest.channels.schedule import EPS, Timeline
from ingest.errors import Conflict, NotFound
from ingest.events import hand_over
from ingest.lifecycle import channels as lifecycle
from runtime import handles
from workers import pipeline
from workers.events import event_sink

log = logging.getLogger(__name__)
LOOK_AHEAD_BLOCKS = 10_000
CUT_RETRY_S = 2.0
"""A cut set for a time whose stream has not started yet is tried again this often."""
CATCH_UP_S = 2.0
"""An item start this close is waited for in the job rather than queued as another job."""


def record_as_run(channel_id: str) -> int:
    """Idempotent: a start already recorded is not recorded (nor announced) again.

    A job that runs early (a clock a little behind, a scheduler that rounds) would find its
    item not started yet, and could not queue itself again for the same instant (it is that
    job, still running): a start less than ``CATCH_UP_S`` away is waited for here instead,
    for half the job's timeout at most (a loop of very short items queues the rest)."""
    recorded = 0
    stop_waiting = time.monotonic() + pipeline.AS_RUN_TIMEOUT_S / 2
    while True:
        found = _record(channel_id)
        if found is None:
            return recorded  # deleted meanwhile
        timeline, count, now = found
        recorded += count
        upcoming = next_item_start(timeline, now)
        if upcoming is None or timeline.channel.state != ChannelState.ON_AIR:
            return recorded
        if upcoming - time.time() > CATCH_UP_S or time.monotonic() > stop_waiting:
            pipeline.channel_tick(handles.redis_connection(), channel_id, upcoming)
            return recorded
        time.sleep(max(0.0, upcoming - time.time()) + EPS)


def _record(channel_id: str) -> tuple[Timeline, int, float] | None:
    """Record and announce the starts up to now: the timeline, how many, and that now."""
    channels = handles.channel_store()
    with channels.as_run_locked(channel_id):
        try:
            timeline = channels.timeline(channel_id)
        except NotFound:
            return None
        as_run = channels.as_run(channel_id)
        now = time.time()
        events = lifecycle.record_starts(as_run, timeline, now)
        channels.save_as_run(as_run)
    sink = event_sink()
    for event in events:
        hand_over(sink, event)
    return timeline, len(events), now


def next_item_start(timeline: Timeline, now: float) -> float | None:
    """When the next item (not a slate pass, not an item carrying on) starts after ``now``."""
    for n, block in enumerate(timeline.blocks_from(now)):
        if n > LOOK_AHEAD_BLOCKS or (block.is_slate and block.resume_at is None
                                     and block.cycle is not None):
            return None  # only the slate from here on, until an edit
        if block.start_t > now + EPS and block.discontinuity and not block.is_slate:
            return block.start_t
    return None


def cut_at(channel_id: str, stream_id: str, at_iso: str) -> str:
    """Make a cut set for ``at`` (idempotent: one called off or made already is left be).
    A stream that has not published yet is waited for, a try every ``CUT_RETRY_S``."""
    at = datetime.fromisoformat(at_iso)
    channels = handles.channel_store()
    try:
        if not cuts.still_scheduled(channels.get(channel_id), stream_id, at):
            return "called off"
        cuts.cut_now(channels, handles.live_store(), channel_id, stream_id, time.time)
    except NotFound:
        return "gone"
    except LiveStreamUnavailable as exc:
        if exc.code == "live_stream_not_started":
            pipeline.channel_cut_retry(handles.redis_connection(), channel_id, stream_id, at,
                                       time.time() + CUT_RETRY_S)
            return "waiting for the stream"
        return _give_up(channels, channel_id, stream_id, at, exc)
    except Conflict as exc:
        return _give_up(channels, channel_id, stream_id, at, exc)
    pipeline.channel_tick(handles.redis_connection(), channel_id, time.time())
    return "cut"


def _give_up(channels: cuts.ChannelStore, channel_id: str, stream_id: str, at: datetime,
             exc: Conflict) -> str:
    log.warning("channel %s: the cut to %s set for %s is not made: %s", channel_id, stream_id,
                at.isoformat(), exc.code)
    cuts.drop_scheduled(channels, channel_id, stream_id, at)
    return exc.code


def settle_cuts(stream_id: str) -> list[str]:
    """The stream ended: every channel cut to it goes back to its queue (the playlists show
    it already); their as-run jobs look again."""
    changed = cuts.settle_all(handles.channel_store(), stream_id, time.time)
    for channel_id in changed:
        pipeline.channel_tick(handles.redis_connection(), channel_id, time.time())
    return changed
