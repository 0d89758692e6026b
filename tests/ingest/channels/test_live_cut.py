"""A channel cut to a live stream and back, exactly: the playlist text, the numbers, what is
refused."""

from __future__ import annotations

import pytest

from ingest.channels import editing, live
from ingest.channels.models import Item, LiveSource
from ingest.errors import Conflict
from ingest.live.hls import LiveHls, LiveSegment
from ingest.media.ladder import Rendition
from tests.ingest.channels.support import T0, channel, render

STREAM = "ls-0000000000000001"


def _hls(last: int, ended: bool = False) -> LiveHls:
    """Segments 10..last of a stream of 2 s segments (stream time 2 s per segment)."""
    segments = [LiveSegment(seq=s, duration=2.0, disc=0, at=2.0 * s) for s in range(10, last + 1)]
    return LiveHls(renditions=[], segment_s=2, segments=segments, next_seq=last + 1, ended=ended)


def _source(segment_s: float = 2, codecs: str = "avc1.64001e,mp4a.40.2") -> LiveSource:
    return LiveSource(stream_id=STREAM, segment_s=segment_s, renditions=[Rendition(
        name="240p", width=426, height=240, fps=25, video_kbps=400, maxrate_kbps=440,
        bufsize_kbps=800, audio_kbps=128, level="2.1", bandwidth=600_000, codecs=codecs)])


def _on_air_with_cut() -> tuple[editing.Channel, dict[str, live.LiveFeed]]:
    ch = channel(window_s=30)
    editing.add(ch, Item(id="it-1", asset_id="as-c000000000000000"), None, T0)
    editing.start(ch, T0)
    hls = _hls(13)
    editing.cut(ch, _source(), live.cut_of(STREAM, hls), T0 + 5, {STREAM: live.feed_of(hls)})
    return ch, {STREAM: live.feed_of(_hls(19))}


def test_cut_at_the_next_boundary_and_back_to_the_rest_of_the_item() -> None:
    ch, feeds = _on_air_with_cut()
    # cut at 5 s: from the boundary at 8 s, the stream's latest segment (13) first; back at
    # 13 s: after the live segment in progress (12-14 s), the item from its third segment
    editing.end_cut(ch, T0 + 13, feeds)
    assert render(ch, T0 + 24, feeds)[0] == """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:4
#EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:00.000+00:00
#EXTINF:4,
as-c000000000000000/seg-00000.ts
#EXTINF:4,
as-c000000000000000/seg-00001.ts
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:08.000+00:00
#EXTINF:2,
ls-0000000000000001/seg-00013.ts
#EXTINF:2,
ls-0000000000000001/seg-00014.ts
#EXTINF:2,
ls-0000000000000001/seg-00015.ts
#EXT-X-DISCONTINUITY
#EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:14.000+00:00
#EXTINF:4,
as-c000000000000000/seg-00002.ts
#EXTINF:4,
as-c000000000000000/seg-00003.ts
"""


def test_nothing_is_listed_past_a_segment_not_published_yet() -> None:
    ch, _ = _on_air_with_cut()
    only_13 = {STREAM: live.feed_of(_hls(13))}
    _, shown = render(ch, T0 + 30, only_13)  # 14, 15... would have ended by now
    assert [s.uri.rsplit("/", 1)[1] for s in shown][-1] == "seg-00013.ts"


def test_the_queue_returns_after_the_last_segment_of_an_ended_stream() -> None:
    ch, _ = _on_air_with_cut()
    ended = {STREAM: live.feed_of(_hls(15, ended=True))}
    _, shown = render(ch, T0 + 24, ended)
    uris = [s.uri for s in shown]
    assert uris[-3:] == [f"{STREAM}/seg-00015.ts", "as-c000000000000000/seg-00002.ts",
                         "as-c000000000000000/seg-00003.ts"]
    assert shown[-2].discontinuity
    assert editing.settle(ch, ended)  # written down, the same stream follows
    assert [s.uri for s in render(ch, T0 + 24, ended)[1]] == uris


def test_queue_edits_during_a_cut_move_where_it_resumes() -> None:
    ch, feeds = _on_air_with_cut()
    editing.add(ch, Item(id="it-2", asset_id="as-a000000000000000"), None, T0 + 10, feeds)
    editing.remove(ch, "it-1", T0 + 11, feeds)
    assert ch.timeline[-1].live is not None  # the cut goes on
    editing.end_cut(ch, T0 + 13, feeds)
    _, shown = render(ch, T0 + 18, feeds)
    assert shown[-1].uri == "as-a000000000000000/seg-00000.ts"


def test_what_cannot_play_is_refused_naming_the_difference() -> None:
    ch = channel()
    live.check_compatible(ch, _source(2))  # shorter segments than the channel's play
    with pytest.raises(Conflict) as longer:
        live.check_compatible(ch, _source(6))
    assert longer.value.code == "segment_duration_mismatch"
    with pytest.raises(Conflict) as hevc:
        live.check_compatible(ch, _source(2, "hvc1.1.6.L93.B0,mp4a.40.2"))
    assert hevc.value.code == "codec_mismatch"
    with pytest.raises(Conflict) as not_cut:
        editing.end_cut(ch, T0, {})
    assert not_cut.value.code == "channel_not_cut"
