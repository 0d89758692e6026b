"""Channel documents for the pure tests: media with known segment durations, a clock."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.channels.live import LiveFeed, feed_of
from ingest.channels.models import AssetMedia, Channel, ChannelMode
from ingest.channels.playlists import media_playlist
from ingest.channels.schedule import Timeline
from ingest.live.hls import LiveHls, LiveSegment
from ingest.media.ladder import Rendition

T0 = 1_800_000_000.0
SLATE = "as-5afe000000000000"
MEDIA = {
    "as-a000000000000000": [4.0, 4.0, 4.0, 1.5],
    "as-b000000000000000": [4.0, 4.0, 2.24],
    "as-c000000000000000": [4.0] * 6,
    "as-d000000000000000": [3.96],
    SLATE: [4.0, 4.0],
}
MAX_SEGMENT = 4.0


def media(asset_id: str, durations: list[float]) -> AssetMedia:
    return AssetMedia(asset_id=asset_id, title=asset_id, durations=durations, renditions=[
        Rendition(name="360p", width=640, height=360, fps=25, video_kbps=800, maxrate_kbps=880,
                  bufsize_kbps=1600, audio_kbps=128, level="3.0", bandwidth=900_000,
                  codecs="avc1.64001e,mp4a.40.2")])


def channel(mode: ChannelMode = ChannelMode.LINEAR, window_s: int = 30) -> Channel:
    ch = Channel(id="ch-0000000000000001", name="Main stage", mode=mode, window_s=window_s,
                 slate_asset_id=SLATE)
    ch.media = {aid: media(aid, d) for aid, d in MEDIA.items()}
    return ch


@dataclass(frozen=True)
class Shown:
    seq: int
    uri: str
    duration: float
    disc: int
    discontinuity: bool


_TAG = re.compile(r"#EXT-X-(MEDIA-SEQUENCE|DISCONTINUITY-SEQUENCE):(\d+)")


def render(ch: Channel, now: float,
           feeds: dict[str, LiveFeed] | None = None) -> tuple[str, list[Shown]]:
    """The media playlist at ``now``, and what it shows read back from its text."""
    window = Timeline(ch, feeds).window(now)
    text = media_playlist(window, target_duration=4, next_seq=0, next_disc=0,
                          uri=lambda s: f"{s.asset_id}/seg-{s.index:05d}.ts")
    return text, parse(text)


def parse(text: str) -> list[Shown]:
    """Segments of a media playlist with their sequence and discontinuity numbers."""
    numbers = {m.group(1): int(m.group(2)) for m in _TAG.finditer(text)}
    seq, disc = numbers.get("MEDIA-SEQUENCE", 0), numbers.get("DISCONTINUITY-SEQUENCE", 0)
    shown: list[Shown] = []
    tagged, duration = False, 0.0
    for line in text.splitlines():
        if line == "#EXT-X-DISCONTINUITY":
            tagged, disc = True, disc + 1
        elif line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",")[0])
        elif line and not line.startswith("#"):
            shown.append(Shown(seq, line, duration, disc, tagged))
            seq, tagged = seq + 1, False
    return shown


@dataclass
class SimulatedLive:
    """A live stream as its worker publishes it: 2 s segments (some shorter) made in real time
    from ``started``, each published a varying moment after it ends; ``breaks`` are the
    segments after which the encoder restarts (the speaker leaves or returns: a
    discontinuity, and a second of wall clock that the stream time does not count)."""

    stream_id: str = "ls-0000000000000001"
    started: float = T0 - 30.0
    breaks: frozenset[int] = frozenset({7, 20, 21, 40})
    ended_at: float | None = None

    def segments(self, now: float) -> list[LiveSegment]:
        out: list[LiveSegment] = []
        at, wall, disc = 0.0, self.started, 0
        for seq in range(100_000):
            duration = 1.25 if seq % 9 == 8 else 2.0
            published = wall + duration + 0.3 + (seq * 7 % 10) / 10
            if published > now or (self.ended_at is not None and wall >= self.ended_at):
                return out
            starts_run = seq - 1 in self.breaks
            disc += 1 if starts_run else 0
            out.append(LiveSegment(seq=seq, duration=duration, disc=disc,
                                   discontinuity=starts_run, at=at))
            at, wall = at + duration, wall + duration + (1.0 if seq in self.breaks else 0.0)
        return out

    def hls(self, now: float) -> LiveHls:
        segments = self.segments(now)
        ended = self.ended_at is not None and now >= self.ended_at + 5.0
        return LiveHls(renditions=[], segment_s=2, segments=segments, ended=ended,
                       next_seq=segments[-1].seq + 1 if segments else 0)

    def feed(self, now: float) -> LiveFeed:
        return feed_of(self.hls(now))

    def run_starts(self) -> set[int]:
        return {b + 1 for b in self.breaks}
