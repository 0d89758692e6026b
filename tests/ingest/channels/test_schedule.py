"""Exact schedules: what plays when, edits at the next boundary, the playlist text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ingest.channels import editing
from ingest.channels.models import ChannelMode, Item
from ingest.channels.schedule import Block, EpochPlan, Timeline
from ingest.errors import Conflict
from tests.ingest.channels.support import SLATE, T0, channel, render

A, B, C = "as-a000000000000000", "as-b000000000000000", "as-c000000000000000"


def _played(ch, now: float) -> list[tuple[int, str, int, float]]:
    return [(s.seq, s.asset_id[:4], s.index, round(s.start - T0, 3))
            for s in Timeline(ch).window(now)]


def test_linear_queue_then_slate_with_one_discontinuity_per_change() -> None:
    ch = channel(window_s=60)
    editing.add(ch, Item(id="it-1", asset_id=A), None, T0)
    editing.add(ch, Item(id="it-2", asset_id=B), None, T0)
    editing.start(ch, T0)
    assert _played(ch, T0 + 30) == [
        (0, "as-a", 0, 0.0), (1, "as-a", 1, 4.0), (2, "as-a", 2, 8.0), (3, "as-a", 3, 12.0),
        (4, "as-b", 0, 13.5), (5, "as-b", 1, 17.5), (6, "as-b", 2, 21.5),
        (7, "as-5", 0, 23.74)]
    text, _ = render(ch, T0 + 30)
    assert text == "\n".join([
        "#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:4",
        "#EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:00.000+00:00",
        "#EXTINF:4,", f"{A}/seg-00000.ts", "#EXTINF:4,", f"{A}/seg-00001.ts",
        "#EXTINF:4,", f"{A}/seg-00002.ts", "#EXTINF:1.5,", f"{A}/seg-00003.ts",
        "#EXT-X-DISCONTINUITY", "#EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:13.500+00:00",
        "#EXTINF:4,", f"{B}/seg-00000.ts", "#EXTINF:4,", f"{B}/seg-00001.ts",
        "#EXTINF:2.24,", f"{B}/seg-00002.ts",
        "#EXT-X-DISCONTINUITY", "#EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:23.740+00:00",
        "#EXTINF:4,", f"{SLATE}/seg-00000.ts", ""])


def test_skip_takes_effect_at_the_next_boundary_and_keeps_what_was_shown() -> None:
    ch = channel()
    editing.add(ch, Item(id="it-1", asset_id=C), None, T0)
    editing.add(ch, Item(id="it-2", asset_id=B), None, T0)
    editing.start(ch, T0)
    before = _played(ch, T0 + 9)
    editing.skip(ch, T0 + 9)  # segment 2 of C is in progress until T0 + 12
    after = _played(ch, T0 + 20)
    assert after[: len(before)] == before
    assert after == [(0, "as-c", 0, 0.0), (1, "as-c", 1, 4.0), (2, "as-c", 2, 8.0),
                     (3, "as-b", 0, 12.0), (4, "as-b", 1, 16.0)]
    text, shown = render(ch, T0 + 20)
    assert "#EXT-X-DISCONTINUITY\n" in text and shown[3].discontinuity


def test_discontinuity_sequence_counts_what_slid_out() -> None:
    ch = channel(window_s=30)
    editing.add(ch, Item(id="it-1", asset_id=A), None, T0)
    editing.start(ch, T0)
    text, shown = render(ch, T0 + 60)
    assert shown[0].uri.startswith(SLATE)
    assert "#EXT-X-MEDIA-SEQUENCE:8" in text and "#EXT-X-DISCONTINUITY-SEQUENCE:3" in text


def test_fixed_time_item_cuts_the_one_before_at_a_boundary() -> None:
    ch = channel(window_s=60)
    editing.add(ch, Item(id="it-1", asset_id=C), None, T0)
    pinned = datetime.fromtimestamp(T0 + 10, UTC)
    editing.add(ch, Item(id="it-2", asset_id=A, starts_at=pinned), None, T0)
    editing.start(ch, T0)
    assert _played(ch, T0 + 16)[:4] == [(0, "as-c", 0, 0.0), (1, "as-c", 1, 4.0),
                                        (2, "as-c", 2, 8.0), (3, "as-a", 0, 12.0)]


def test_fixed_time_item_waits_on_the_slate() -> None:
    ch = channel(window_s=60)
    pinned = datetime.fromtimestamp(T0 + 10, UTC)
    editing.add(ch, Item(id="it-1", asset_id=A, starts_at=pinned), None, T0)
    editing.start(ch, T0)
    played = _played(ch, T0 + 20)
    assert [p[1] for p in played] == ["as-5", "as-5", "as-5", "as-a", "as-a"]
    assert played[3][3] == 12.0  # the first boundary at or after 10 s


def test_loop_repeats_the_queue_and_removal_applies_at_the_boundary() -> None:
    ch = channel(ChannelMode.LOOP, window_s=60)
    editing.add(ch, Item(id="it-1", asset_id=A), None, T0)
    editing.add(ch, Item(id="it-2", asset_id=B), None, T0)
    editing.start(ch, T0)
    assert [p[1] for p in _played(ch, T0 + 40)] == ["as-a"] * 4 + ["as-b"] * 3 + ["as-a"] * 4
    editing.remove(ch, "it-2", T0 + 41)
    assert [p[1] for p in _played(ch, T0 + 80)][-6:] == ["as-a"] * 6


def test_stop_ends_at_the_boundary_and_start_needs_a_slate() -> None:
    ch = channel()
    editing.add(ch, Item(id="it-1", asset_id=C), None, T0)
    editing.start(ch, T0)
    editing.stop(ch, T0 + 5)
    assert [p[0] for p in _played(ch, T0 + 30)] == [0, 1]
    ch.slate_asset_id = None
    with pytest.raises(Conflict):
        editing.start(ch, T0 + 40)


def test_cost_does_not_grow_with_the_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    """The window is found by bisection: with 5,000 items a window visits as many blocks as
    with 5, once compiled (counted, not timed: timings on a shared machine prove nothing)."""
    small, big = channel(ChannelMode.LOOP), channel(ChannelMode.LOOP)
    for n in range(5):
        small.items.append(Item(id=f"it-{n}", asset_id=A))
    for n in range(5000):
        big.items.append(Item(id=f"it-{n}", asset_id=A))
    for ch in (small, big):
        editing.start(ch, T0)
    t_small, t_big = Timeline(small), Timeline(big)
    t_small.window(T0 + 3600 * 10)
    t_big.window(T0 + 3600 * 10)
    visits = [0]
    blocks_from = EpochPlan.blocks_from

    def counting(plan: EpochPlan, t: float) -> Iterator[Block]:
        for block in blocks_from(plan, t):
            visits[0] += 1
            yield block
    monkeypatch.setattr(EpochPlan, "blocks_from", counting)

    def cost(tl: Timeline) -> int:
        visits[0] = 0
        for k in range(200):
            assert tl.window(T0 + 36000 + k * 7.3)
        return visits[0]
    small_cost, big_cost = cost(t_small), cost(t_big)
    assert 0 < big_cost <= small_cost * 1.5, (small_cost, big_cost)


def test_a_channel_just_started_lists_the_segment_in_progress() -> None:
    """hls.js treats an empty live playlist as fatal (`levelEmptyError`): right after a start,
    before any segment has ended, the one in progress is listed, then it stays as it was."""
    ch = channel(window_s=60)
    editing.add(ch, Item(id="it-1", asset_id=A), None, T0)
    editing.start(ch, T0)
    assert _played(ch, T0) == [(0, "as-a", 0, 0.0)]
    assert _played(ch, T0 + 1) == [(0, "as-a", 0, 0.0)]
    assert _played(ch, T0 + 5) == [(0, "as-a", 0, 0.0)]
    assert _played(ch, T0 + 8) == [(0, "as-a", 0, 0.0), (1, "as-a", 1, 4.0)]
