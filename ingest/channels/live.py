"""A channel cut to a live stream: the stream's published segments placed on the channel's clock.

The cut starts at a channel boundary ``from_t`` with the stream's latest published segment
``first_seq``; every later segment plays ``at - first_at`` seconds after it (``at``: the stream
time the live worker gives each segment, ingest.live.hls). Live segments are made in real time,
so each one is published before its turn comes on the channel, which is a few seconds behind
the stream. Numbers follow from the stream's own: media sequence ``epoch.seq + (seq -
first_seq)``, one discontinuity for the cut and one for each of the stream's (the speaker
leaving for the stream's "be right back" slate, or coming back).

A snapshot of what the stream has published (``LiveFeed``) is all this needs; a segment
already shown keeps its URI, sequence and discontinuity numbers in every later snapshot.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.channels.models import Channel, Epoch, LiveCut, LiveSource
from ingest.errors import Conflict, NotFound
from ingest.live.hls import LiveHls, LiveSegment
from ingest.live.models import LiveStatus, LiveStream
from ingest.storage import keys
from ingest.storage.s3 import Storage


class LiveStreamUnavailable(Conflict):
    """The stream has nothing a channel could show (not started, ended)."""

    code = "live_stream_not_started"


class LiveIncompatible(Conflict):
    code = "live_stream_incompatible"


@dataclass(frozen=True)
class LiveFeed:
    """What a live stream has published, in sequence order, and whether it is over."""

    segments: tuple[LiveSegment, ...]
    ended: bool

    @property
    def version(self) -> tuple[int, bool]:
        """Changes whenever a snapshot can show more."""
        return (self.segments[-1].seq if self.segments else -1), self.ended


def feed_of(hls: LiveHls) -> LiveFeed:
    return LiveFeed(tuple(hls.segments), hls.ended)


def load_hls(storage: Storage, stream_id: str) -> LiveHls | None:
    """The stream's HLS state as its worker last wrote it (None before its first segment)."""
    try:
        return LiveHls.model_validate_json(storage.get_bytes(keys.live_state(stream_id)))
    except NotFound:
        return None


def load_feeds(storage: Storage, channel: Channel) -> dict[str, LiveFeed]:
    """Fresh snapshots of the streams the channel's timeline cuts to (read after taking the
    channel's lock, so an edit never places a boundary before a segment a viewer was shown)."""
    feeds = {}
    for stream_id in {e.live.stream_id for e in channel.timeline if e.live is not None}:
        hls = load_hls(storage, stream_id)
        if hls is not None:
            feeds[stream_id] = feed_of(hls)
    return feeds


@dataclass(frozen=True)
class Placed:
    """One live segment on the channel's clock."""

    live_seq: int
    start: float
    end: float
    duration: float
    seq: int
    disc: int
    discontinuity: bool


def placed(epoch: Epoch, feed: LiveFeed) -> Iterator[Placed]:
    """The cut's segments that ``feed`` holds, from its first on."""
    cut = epoch.live
    assert cut is not None
    for segment in feed.segments:
        if segment.seq < cut.first_seq or segment.at is None:
            continue
        start = epoch.from_t + (segment.at - cut.first_at)
        first = segment.seq == cut.first_seq
        yield Placed(
            live_seq=segment.seq, start=start, end=start + segment.duration,
            duration=segment.duration, seq=epoch.seq + segment.seq - cut.first_seq,
            disc=epoch.disc + 1 + segment.disc - cut.first_disc,
            discontinuity=first or segment.discontinuity)


def end_of(epoch: Epoch, feed: LiveFeed | None) -> float:
    """When the cut's last segment ends: never while the stream goes on."""
    if feed is None or not feed.ended:
        return math.inf
    last = _last_placed(epoch, feed)
    return last.end if last is not None else epoch.from_t


def after_end(epoch: Epoch, feed: LiveFeed | None) -> Epoch | None:
    """The epoch that follows a cut whose stream has ended: the queue again, from where the
    cut left it, right after the stream's last segment (None while the stream goes on)."""
    if feed is None or not feed.ended:
        return None
    last = _last_placed(epoch, feed)
    t, seq, disc = (last.end, last.seq + 1, last.disc) if last is not None \
        else (epoch.from_t, epoch.seq, epoch.disc)
    return Epoch(from_t=t, seq=seq, disc=disc, queue=list(epoch.queue), position=epoch.position,
                 segment=epoch.segment, slate_asset_id=epoch.slate_asset_id)


def _last_placed(epoch: Epoch, feed: LiveFeed) -> Placed | None:
    found = None
    for found in placed(epoch, feed):  # noqa: B007 (the last one is wanted)
        pass
    return found


# --- what may be cut to ------------------------------------------------------------------------
def source_of(stream: LiveStream, hls: LiveHls | None) -> LiveSource:
    """The channel's view of a live stream it may cut to now (409 when there is nothing to
    show: not started yet, or ended)."""
    if stream.status == LiveStatus.ENDED or (hls is not None and hls.ended):
        raise LiveStreamUnavailable(f"Live stream {stream.id} has ended; a channel can only "
                                    "cut to a stream that is on.", code="live_stream_ended")
    if hls is None or not hls.segments:
        raise LiveStreamUnavailable(f"Live stream {stream.id} has not published anything yet; "
                                    "cut to it once its speaker is on.")
    if hls.segments[-1].at is None:
        raise LiveIncompatible(f"Live stream {stream.id} was started before channels could cut "
                               "to live streams; start a new one.")
    return LiveSource(stream_id=stream.id, title=stream.title, segment_s=float(hls.segment_s),
                      renditions=list(hls.renditions))


def check_compatible(channel: Channel, source: LiveSource) -> None:
    """Refuse, naming the difference, what the channel's players could not splice: segments
    longer than its target duration (fixed for its life; shorter ones play, RFC 8216 4.3.3.1)
    or another codec family. Renditions map to variants like items' (the closest one)."""
    if source.segment_s > channel.target_duration:
        raise LiveIncompatible(
            f"Live stream {source.stream_id} has {source.segment_s:g} s segments; this channel "
            f"plays segments of at most {channel.target_duration} s.",
            code="segment_duration_mismatch")
    for rendition in source.renditions:
        video, _, audio = rendition.codecs.partition(",")
        family = video.split(".")[0]
        if family != channel.codec_family or (audio and not audio.startswith("mp4a")):
            raise LiveIncompatible(
                f"Rendition {rendition.name} of live stream {source.stream_id} is "
                f"{rendition.codecs}; this channel plays {channel.codec_family} with AAC.",
                code="codec_mismatch")


def cut_of(stream_id: str, hls: LiveHls) -> LiveCut:
    """A cut that starts with the stream's latest published segment."""
    last = hls.segments[-1]
    assert last.at is not None
    return LiveCut(stream_id=stream_id, first_seq=last.seq, first_at=last.at,
                   first_disc=last.disc)
