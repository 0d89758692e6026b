"""Properties of the live stream under random producer edits and a simulated clock.

Every example plays a channel for a few minutes of simulated time while a producer adds,
inserts, moves, removes and skips items, stops and starts, cuts to a live stream and back
(the stream publishing in real time, with restarts, and ending at some point); after each step
the media playlist is rendered (with the m3u8 library) and read back.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.channels import editing, live
from ingest.channels.models import Channel, ChannelMode, ChannelState, Item, LiveSource
from ingest.channels.schedule import EPS, Timeline
from ingest.errors import Conflict
from tests.ingest.channels.support import (
    MAX_SEGMENT,
    MEDIA,
    SLATE,
    T0,
    Shown,
    SimulatedLive,
    channel,
    render,
)

ASSETS = sorted(a for a in MEDIA if a != SLATE)
OPS = ("add", "add", "add", "insert", "move", "remove", "skip", "skip", "stop", "start",
       "wait", "fixed", "cut", "cut", "back", "end_stream")

step = st.tuples(
    st.floats(min_value=0.05, max_value=20.0, allow_nan=False),  # clock advance
    st.sampled_from(OPS),
    st.integers(min_value=0, max_value=50),  # which item / asset
    st.integers(min_value=0, max_value=50),  # position
    st.floats(min_value=10.0, max_value=60.0, allow_nan=False),  # fixed start, from now
)


@dataclass
class Fixed:
    item_id: str
    starts_at: float
    added_at: float


@dataclass
class Run:
    ch: Channel
    now: float = T0
    counter: int = 0
    shown: dict[int, Shown] = field(default_factory=dict)
    items_by_seq: dict[int, tuple[str | None, float]] = field(default_factory=dict)
    last_seq: int = -1
    on_air_since: float | None = None
    fixed: list[Fixed] = field(default_factory=list)
    broken: set[str] = field(default_factory=set)
    """Fixed items whose start a stop or a removal legitimately changed."""
    stream: SimulatedLive = field(default_factory=SimulatedLive)
    cut_ever: bool = False

    def feeds(self) -> dict[str, live.LiveFeed]:
        return {self.stream.stream_id: self.stream.feed(self.now)}

    def apply(self, op: str, pick: int, position: int, ahead: float) -> None:
        feeds = self.feeds()
        if op in ("cut", "back", "end_stream"):
            self._live(op)
            return
        self._queue(op, pick, position, ahead, feeds)

    def _live(self, op: str) -> None:
        ch, now, feeds = self.ch, self.now, self.feeds()
        hls = self.stream.hls(now)
        if op == "end_stream" and self.stream.ended_at is None:
            self.stream.ended_at = now
        elif op == "cut" and hls.segments and not hls.ended:
            source = LiveSource(stream_id=self.stream.stream_id, segment_s=2, renditions=[])
            try:
                editing.cut(ch, source, live.cut_of(self.stream.stream_id, hls), now, feeds)
            except Conflict as exc:
                assert exc.code == "channel_not_on_air" and ch.state != ChannelState.ON_AIR
                return
            self.cut_ever = True
            # fixed times fall inside the cut or move with the queue behind it
            self.broken.update(f.item_id for f in self.fixed)
        elif op == "back":
            try:
                editing.end_cut(ch, now, feeds)
            except Conflict as exc:
                assert exc.code == "channel_not_cut"

    def _queue(self, op: str, pick: int, position: int, ahead: float,
               feeds: dict[str, live.LiveFeed]) -> None:
        ch, now = self.ch, self.now
        if op in ("add", "insert", "fixed"):
            self.counter += 1
            item = Item(id=f"it-{self.counter:016x}", asset_id=ASSETS[pick % len(ASSETS)])
            if op == "fixed":
                if ch.mode != ChannelMode.LINEAR:
                    return
                latest = max((f.starts_at for f in self.fixed), default=now)
                item.starts_at = datetime.fromtimestamp(max(now, latest + 30) + ahead, UTC)
                self.fixed.append(Fixed(item.id, item.starts_at.timestamp(), now))
                if ch.state != ChannelState.ON_AIR or editing.live_cut(ch, now) is not None:
                    # off air, or cut to a live stream: a cut goes on over queue edits (they
                    # only change where the queue resumes), so this start time is not kept
                    self.broken.add(item.id)
            editing.add(ch, item, None if op != "insert" else position, now, feeds)
        elif op == "move" and ch.items:
            movable = [i for i in ch.items if i.starts_at is None]
            if movable:
                moved = movable[pick % len(movable)].id
                on_screen = Timeline(ch, feeds).segment_at(now)
                if on_screen is not None and on_screen.item_id == moved:
                    # the item on screen goes on where it now stands: fixed-time items it
                    # jumped over are behind it and (linear mode) will not play
                    self.broken.update(f.item_id for f in self.fixed)
                editing.move(ch, moved, position, now, feeds)
        elif op == "remove" and ch.items:
            victim = ch.items[pick % len(ch.items)]
            self.broken.add(victim.id)
            editing.remove(ch, victim.id, now, feeds)
        elif op == "skip" and ch.state == ChannelState.ON_AIR:
            editing.skip(ch, now, feeds)
        elif op == "stop":
            editing.stop(ch, now, feeds)
            self.on_air_since = None
            self.broken.update(f.item_id for f in self.fixed)
        elif op == "start" and ch.state != ChannelState.ON_AIR:
            pending_stop = bool(ch.timeline) and ch.timeline[-1].from_t > now
            editing.start(ch, now)
            if not pending_stop:
                self.on_air_since = now

    def observe(self) -> None:
        feeds = self.feeds()
        _text, shown = render(self.ch, self.now, feeds)
        if shown:  # the media sequence never decreases
            assert shown[0].seq >= self.last_seq, (shown[0], self.last_seq)
            self.last_seq = shown[0].seq
        for seg in shown:
            seen = self.shown.setdefault(seg.seq, seg)
            # a segment once shown keeps its URI, duration and discontinuity number
            assert (seen.uri, seen.duration, seen.disc) == (seg.uri, seg.duration, seg.disc), \
                (seen, seg)
        for before, after in itertools.pairwise(shown):
            asset_b, index_b = before.uri.split("/seg-")
            asset_a, index_a = after.uri.split("/seg-")
            continues = asset_a == asset_b and int(index_a[:5]) == int(index_b[:5]) + 1
            if asset_a == self.stream.stream_id and int(index_a[:5]) in self.stream.run_starts():
                continues = False  # the stream's own discontinuity (its encoder restarted)
            # exactly one discontinuity at every change of item (slate passes included), at
            # each cut to the live stream and back, and at each of the stream's own
            assert after.discontinuity == (not continues), (before, after)
        total = sum(s.duration for s in shown)
        assert total <= self.ch.window_s + MAX_SEGMENT + EPS
        if not self.cut_ever and self.on_air_since is not None and \
                self.now - self.on_air_since >= self.ch.window_s + 2 * MAX_SEGMENT:
            assert total >= self.ch.window_s - MAX_SEGMENT - EPS, (total, shown)
        for seg in Timeline(self.ch, feeds).window(self.now):
            self.items_by_seq.setdefault(seg.seq, (seg.item_id, seg.start))

    def check_fixed_starts(self) -> None:
        """Fixed-time items start on time, within one segment."""
        first_start: dict[str, float] = {}
        for seq in sorted(self.items_by_seq):
            item_id, start = self.items_by_seq[seq]
            if item_id is not None:
                first_start.setdefault(item_id, start)
        for f in self.fixed:
            if f.item_id in self.broken or self.now < f.starts_at + 2 * MAX_SEGMENT + 1:
                continue
            assert f.item_id in first_start, f"fixed item {f.item_id} never played"
            late = first_start[f.item_id] - f.starts_at
            assert -EPS <= late < MAX_SEGMENT, (f, late)


def _play(mode: ChannelMode, window_s: int, steps: list[tuple[float, str, int, int, float]],
          start_on_air: bool) -> Run:
    run = Run(channel(mode, window_s))
    if start_on_air:
        editing.add(run.ch, Item(id="it-first", asset_id=ASSETS[0]), None, run.now)
        editing.start(run.ch, run.now)
        run.on_air_since = run.now
    for advance, op, pick, position, ahead in steps:
        run.now += advance
        run.apply(op, pick, position, ahead)
        run.observe()
    for _ in range(8):  # let the last edits play out
        run.now += 10
        run.observe()
    run.check_fixed_starts()
    if run.stream.ended_at is None:  # the stream ends: a cut to it gives way to the queue
        run.stream.ended_at = run.now
    for _ in range(4):
        run.now += 10
        run.observe()
    window = Timeline(run.ch, run.feeds()).window(run.now)
    if run.ch.state == ChannelState.ON_AIR:
        assert window and window[-1].block.live is None, window[-1:]
        assert window[-1].end > run.now - MAX_SEGMENT - EPS  # nothing stalls after a cut
    return run


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=40),
       window_s=st.sampled_from([30, 45, 60]), start_on_air=st.booleans())
def test_linear_channel_properties(steps: list[tuple[float, str, int, int, float]],
                                   window_s: int, start_on_air: bool) -> None:
    _play(ChannelMode.LINEAR, window_s, steps, start_on_air)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=40),
       window_s=st.sampled_from([30, 60]), start_on_air=st.booleans())
def test_loop_channel_properties(steps: list[tuple[float, str, int, int, float]],
                                 window_s: int, start_on_air: bool) -> None:
    _play(ChannelMode.LOOP, window_s, steps, start_on_air)
