"""What plays when: a pure function of the channel document and the clock.

Each epoch of the timeline is compiled once into *blocks* (runs of consecutive segments of one
asset) with their start time, media sequence and discontinuity numbers precomputed; what repeats
for ever (the queue in loop mode, the slate after a linear queue) is one *cycle* of blocks
shifted by whole cycles. Finding the segment at an instant is then a bisection, so a playlist
costs the same with 5 items or 5,000 in the queue; only compiling an epoch (once per document
revision) walks the queue.

Segments are published like a live encoder's: a segment is listed once it has *ended*, and an
edit takes effect at the end of the segment in progress, so nothing already listed changes.

An epoch that cuts to a live stream has one open block; its segments are the stream's, read
from a ``LiveFeed`` snapshot (ingest.channels.live) when there is one, and the stream stops
where the snapshot does: nothing after a segment not yet published is listed.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate

from ingest.channels import live
from ingest.channels.models import AssetMedia, Channel, ChannelMode, Epoch, Item

Where = dict[str, str | int | None]
"""Keyword fields of a block: item_id, position, after, resume_at."""
EPS = 1e-6
"""Tolerance on instants: boundaries are sums of floats computed the same way each time."""


@dataclass(frozen=True)
class Block:
    """``count`` segments of ``asset_id`` from segment ``first``, starting at ``start_t``."""

    start_t: float
    duration: float
    seq: int
    disc: int
    """Discontinuity number of its segments (counting its own tag)."""
    discontinuity: bool
    asset_id: str
    first: int
    count: int
    item_id: str | None = None
    position: int | None = None
    """Index of the item in the epoch's queue (None: the slate)."""
    after: str | None = None
    """Slate only: the item played before it."""
    resume_at: str | None = None
    """Slate only: the fixed-time item it fills the gap before."""
    epoch: int = 0
    """Index of the epoch (in the channel's timeline) it belongs to."""
    cycle: int | None = None
    """Which repetition of the epoch's cycle this block is part of (None: before the cycle)."""
    live: str | None = None
    """A cut to this live stream (open-ended while the stream goes on)."""

    @property
    def end_t(self) -> float:
        return self.start_t + self.duration

    @property
    def is_slate(self) -> bool:
        return self.item_id is None and self.live is None


@dataclass(frozen=True)
class PlayedSegment:
    """One segment of the stream: where it comes from and where it sits."""

    start: float
    end: float
    duration: float
    seq: int
    disc: int
    discontinuity: bool
    asset_id: str
    index: int
    block: Block
    epoch: int

    @property
    def item_id(self) -> str | None:
        return self.block.item_id

    @property
    def starts_block(self) -> bool:
        """First segment of an item (or of a slate pass): it carries EXT-X-PROGRAM-DATE-TIME."""
        return self.index == self.block.first


class _Builder:
    """Lays blocks end to end, numbering sequences and discontinuities as it goes."""

    def __init__(self, cums: dict[str, list[float]], t: float, seq: int, disc: int,
                 first_tag: bool, epoch: int) -> None:
        self.cums = cums
        self.epoch = epoch
        self.blocks: list[Block] = []
        self.t, self.seq, self.disc, self.tag = t, seq, disc, first_tag

    def add(self, asset_id: str, first: int, count: int, **where: str | int | None) -> None:
        if count <= 0:
            return
        cum = self.cums[asset_id]
        disc = self.disc + (1 if self.tag else 0)
        duration = cum[first + count] - cum[first]
        self.blocks.append(Block(self.t, duration, self.seq, disc, self.tag, asset_id, first,
                                 count, epoch=self.epoch, **where))  # type: ignore[arg-type]
        self.t += duration
        self.seq += count
        self.disc = disc
        self.tag = True


@dataclass
class EpochPlan:
    """One compiled epoch: blocks until the cycle, then the cycle repeated."""

    epoch: Epoch
    index: int
    until: float
    blocks: list[Block]
    cycle: list[Block] = field(default_factory=list)
    """Relative to the cycle's origin: start 0, sequence 0, discontinuity 0."""
    cycle_t: float = math.inf
    cycle_seq: int = 0
    cycle_disc: int = 0
    cycle_duration: float = 0.0
    cycle_count: int = 0
    cycle_discs: int = 0

    def __post_init__(self) -> None:
        self._starts = [b.start_t for b in self.blocks]
        self._cycle_starts = [b.start_t for b in self.cycle]

    def _shifted(self, k: int, i: int) -> Block:
        rel = self.cycle[i]
        return replace(rel, start_t=self.cycle_t + k * self.cycle_duration + rel.start_t,
                       seq=self.cycle_seq + k * self.cycle_count + rel.seq,
                       disc=self.cycle_disc + k * self.cycle_discs + rel.disc, cycle=k)

    def blocks_from(self, t: float) -> Iterator[Block]:
        """Blocks from the one playing at ``t`` (the first one when ``t`` is earlier), up to
        the epoch's end."""
        if not self.epoch.on_air:
            return
        if self.blocks and (t < self.cycle_t or not self.cycle):
            first = max(0, bisect.bisect_right(self._starts, t) - 1)
            for i in range(first, len(self.blocks)):  # not a slice: that copies the rest
                block = self.blocks[i]
                if block.start_t >= self.until - EPS:
                    return
                yield block
            t = self.cycle_t
        if not self.cycle or self.cycle_duration <= 0:
            return
        k = max(0, math.floor((t - self.cycle_t) / self.cycle_duration))
        i = max(0, bisect.bisect_right(self._cycle_starts,
                                       t - self.cycle_t - k * self.cycle_duration) - 1)
        while True:
            block = self._shifted(k, i)
            if block.start_t >= self.until - EPS:
                return
            yield block
            i += 1
            if i == len(self.cycle):
                k, i = k + 1, 0


class Timeline:
    """The channel's timeline compiled: segments at or after any instant, and the live window.

    ``feeds`` are snapshots of the live streams the timeline cuts to; without one a cut shows
    no segment. A cut whose stream has ended gives way to the queue after its last segment
    (``live.after_end``), as if that epoch were in the document already."""

    def __init__(self, channel: Channel,
                 feeds: dict[str, live.LiveFeed] | None = None) -> None:
        self.channel = channel
        self.feeds = feeds or {}
        self.cums = {aid: [0.0, *accumulate(m.durations)] for aid, m in channel.media.items()}
        self.epochs = list(channel.timeline)
        last = self.epochs[-1] if self.epochs else None
        if last is not None and last.live is not None:
            follow = live.after_end(last, self.feeds.get(last.live.stream_id))
            if follow is not None:
                self.epochs.append(follow)
        self._froms = [e.from_t for e in self.epochs]
        self._plans: dict[int, EpochPlan] = {}

    def with_feeds(self, feeds: dict[str, live.LiveFeed]) -> Timeline:
        """The same channel seen with these live snapshots (queue epochs stay compiled)."""
        other = Timeline.__new__(Timeline)
        other.channel, other.feeds, other.cums = self.channel, feeds, self.cums
        other.epochs = list(self.channel.timeline)
        last = other.epochs[-1] if other.epochs else None
        if last is not None and last.live is not None:
            follow = live.after_end(last, feeds.get(last.live.stream_id))
            if follow is not None:
                other.epochs.append(follow)
        other._froms = [e.from_t for e in other.epochs]
        keep = len(self.channel.timeline) - 1  # the last epoch's end may differ
        other._plans = {i: p for i, p in self._plans.items() if i < keep}
        return other

    def live_streams(self) -> set[str]:
        """Streams whose segments the timeline can still show."""
        return {e.live.stream_id for e in self.channel.timeline if e.live is not None}

    def plan(self, index: int) -> EpochPlan:
        if index not in self._plans:
            epochs = self.epochs
            until = epochs[index + 1].from_t if index + 1 < len(epochs) else math.inf
            self._plans[index] = compile_epoch(self.channel, epochs[index], index, until,
                                               self.cums, self.feeds)
        return self._plans[index]

    def _epoch_at(self, t: float) -> int:
        return max(0, bisect.bisect_right(self._froms, t + EPS) - 1)

    def blocks_from(self, t: float) -> Iterator[Block]:
        if not self._froms:
            return
        first = self._epoch_at(t)
        for index in range(first, len(self._froms)):
            yield from self.plan(index).blocks_from(t if index == first else self._froms[index])

    def segments_from(self, t: float) -> Iterator[PlayedSegment]:
        """Segments from the one playing at ``t`` on (the stream's first when ``t`` is earlier)."""
        first_block = True
        for block in self.blocks_from(t):
            if block.live is not None:
                fed = yield from self._live_segments(block, t if first_block else block.start_t)
                if not fed:
                    return  # the stream goes on beyond what has been published
                first_block = False
                continue
            cum = self.cums[block.asset_id]
            durations = self.channel.media[block.asset_id].durations
            start = block.first
            if first_block and t > block.start_t:
                offset = cum[block.first] + (t - block.start_t)
                start = min(block.first + block.count - 1,
                            max(block.first, bisect.bisect_right(cum, offset + EPS) - 1))
            first_block = False
            until = self.plan(block.epoch).until - EPS  # a later epoch cuts the block there
            for index in range(start, block.first + block.count):
                begins = block.start_t + (cum[index] - cum[block.first])
                if begins >= until:
                    break
                yield PlayedSegment(
                    start=begins,
                    end=block.start_t + (cum[index + 1] - cum[block.first]),
                    duration=durations[index], seq=block.seq + index - block.first,
                    disc=block.disc, discontinuity=block.discontinuity and index == block.first,
                    asset_id=block.asset_id, index=index, block=block, epoch=block.epoch)

    def _live_segments(self, block: Block, t: float) -> Generator[PlayedSegment, None, bool]:
        """The cut's published segments from the one playing at ``t``; returns whether they
        reach the block's end (so what follows it may be shown)."""
        epoch = self.epochs[block.epoch]
        assert epoch.live is not None
        until = self.plan(block.epoch).until - EPS
        feed = self.feeds.get(epoch.live.stream_id)
        if feed is None:
            return False
        for placed in live.placed(epoch, feed):
            if placed.start >= until:
                return True
            if placed.end <= t + EPS:
                continue
            yield PlayedSegment(
                start=placed.start, end=placed.end, duration=placed.duration, seq=placed.seq,
                disc=placed.disc, discontinuity=placed.discontinuity,
                asset_id=epoch.live.stream_id, index=placed.live_seq, block=block,
                epoch=block.epoch)
        return feed.ended

    def cut_point(self, now: float) -> tuple[float, int, int]:
        """Where a change made at ``now`` can take effect, with the media sequence and
        discontinuity numbers there: the end of the segment in progress; in a cut whose next
        segment is not published yet, the end of its last published one (nothing after it
        was listed); off air, ``now``."""
        current = self.segment_at(now)
        if current is not None:
            return current.end, current.seq + 1, current.disc
        if not self.epochs:
            return now, 0, 0
        index = self._epoch_at(now)
        epoch = self.epochs[index]
        last: PlayedSegment | None = None
        for segment in self.segments_from(epoch.from_t):
            if segment.start > now + EPS or segment.epoch != index:
                break
            last = segment
        if last is not None:
            return last.end, last.seq + 1, last.disc
        return max(now, epoch.from_t), epoch.seq, epoch.disc

    def segment_at(self, t: float) -> PlayedSegment | None:
        """The segment playing at ``t`` (None when nothing is on air then)."""
        for segment in self.segments_from(t):
            return segment if segment.start <= t + EPS and t < segment.end - EPS else None
        return None

    def window(self, now: float) -> list[PlayedSegment]:
        """Segments that have ended by ``now``, over the last ``window_s`` seconds.

        Right after a start nothing has ended yet: the segment in progress is listed then, so
        a player never gets an empty live playlist (hls.js treats one as fatal,
        `levelEmptyError`). Its content exists already; it keeps its URI and sequence."""
        since = now - self.channel.window_s
        out: list[PlayedSegment] = []
        for segment in self.segments_from(since):
            if segment.end > now + EPS:
                if not out and segment.start <= now + EPS:
                    out.append(segment)
                break
            if segment.end > since + EPS:
                out.append(segment)
        return out


def compile_epoch(channel: Channel, epoch: Epoch, index: int, until: float,
                  cums: dict[str, list[float]],
                  feeds: dict[str, live.LiveFeed] | None = None) -> EpochPlan:
    """The blocks of one epoch, from its cursor on."""
    if not epoch.on_air:
        return EpochPlan(epoch, index, until, [])
    if epoch.live is not None:
        feed = (feeds or {}).get(epoch.live.stream_id)
        end = live.end_of(epoch, feed)
        block = Block(epoch.from_t, min(until, end) - epoch.from_t, epoch.seq, epoch.disc + 1,
                      True, epoch.live.stream_id, epoch.live.first_seq, 0, epoch=index,
                      live=epoch.live.stream_id)
        return EpochPlan(epoch, index, until, [block])
    media = channel.media
    slate = epoch.slate_asset_id if epoch.slate_asset_id in cums else None
    b = _Builder(cums, epoch.from_t, epoch.seq, epoch.disc, first_tag=not epoch.continues,
                 epoch=index)
    if channel.mode == ChannelMode.LOOP:
        cycle = _loop_prefix(b, epoch.queue, epoch.position, epoch.segment, media, slate)
    else:
        cycle = _linear_prefix(b, epoch.queue, epoch.position, epoch.segment, slate, until)
    return _with_cycle(epoch, index, until, b, cycle, cums)


def _loop_prefix(b: _Builder, queue: Sequence[Item], position: int, segment: int,
                 media: dict[str, AssetMedia], slate: str | None) -> list[tuple[str, Where]]:
    if not queue:
        return [(slate, {})] if slate else []
    if position >= len(queue):
        position, segment = 0, 0
    for pos in range(position, len(queue)):
        item = queue[pos]
        first = segment if pos == position else 0
        b.add(item.asset_id, first, len(media[item.asset_id].durations) - first,
              item_id=item.id, position=pos)
    return [(i.asset_id, {"item_id": i.id, "position": p}) for p, i in enumerate(queue)]


def _linear_prefix(b: _Builder, queue: Sequence[Item], position: int, segment: int,
                   slate: str | None, until: float) -> list[tuple[str, Where]]:
    fixed = [i.starts_at.timestamp() if i.starts_at else None for i in queue]
    next_fixed: list[int | None] = [None] * (len(queue) + 1)
    for pos in range(len(queue) - 1, -1, -1):
        next_fixed[pos] = pos + 1 if pos + 1 < len(queue) and fixed[pos + 1] is not None \
            else next_fixed[pos + 1]
    pos, seg, last = position, segment, None
    while pos < len(queue) and b.t < until - EPS:
        item = queue[pos]
        start_at = fixed[pos]
        if seg == 0 and start_at is not None and b.t < start_at - EPS:
            if slate is None:
                break
            _fill(b, slate, start_at, after=last, resume_at=item.id)
            if b.t >= until - EPS:
                break
        cum = b.cums[item.asset_id]
        n = len(cum) - 1
        count = n - seg
        f = next_fixed[pos]
        if f is not None:
            target = fixed[f]
            assert target is not None
            cut = bisect.bisect_left(cum, cum[seg] + (target - b.t) - EPS, seg, n) - seg
            if cut < count:  # the next fixed-time item starts first: cut at a boundary
                b.add(item.asset_id, seg, cut, item_id=item.id, position=pos)
                last = item.id if cut > 0 else last
                pos, seg = f, 0
                continue
        b.add(item.asset_id, seg, count, item_id=item.id, position=pos)
        last = item.id
        pos, seg = pos + 1, 0
    return [(slate, {"after": last})] if slate else []


def _fill(b: _Builder, slate: str, until_t: float, *, after: str | None,
          resume_at: str) -> None:
    """Slate passes until the first boundary at or after ``until_t``."""
    cum = b.cums[slate]
    n = len(cum) - 1
    while b.t < until_t - EPS:
        count = min(n, bisect.bisect_left(cum, until_t - b.t - EPS, 0, n))
        b.add(slate, 0, max(1, count), after=after, resume_at=resume_at)


def _with_cycle(epoch: Epoch, index: int, until: float, b: _Builder,
                cycle: list[tuple[str, Where]], cums: dict[str, list[float]]) -> EpochPlan:
    def lay(builder: _Builder) -> None:
        for asset_id, where in cycle:
            builder.add(asset_id, 0, len(cums[asset_id]) - 1, **where)

    if cycle and not b.blocks:  # the stream starts with the cycle: its first tag is the epoch's
        lay(b)
    plan = EpochPlan(epoch, index, until, b.blocks)
    if not cycle:
        return plan
    rel = _Builder(cums, 0.0, 0, 0, first_tag=True, epoch=index)
    lay(rel)
    if rel.t <= 0:
        return plan
    return EpochPlan(epoch, index, until, b.blocks, cycle=rel.blocks, cycle_t=b.t,
                     cycle_seq=b.seq, cycle_disc=b.disc, cycle_duration=rel.t,
                     cycle_count=rel.seq, cycle_discs=rel.disc)
