"""Channel documents for the pure tests: media with known segment durations, a clock."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.channels.models import AssetMedia, Channel, ChannelMode
from ingest.channels.playlists import media_playlist
from ingest.channels.schedule import Timeline
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


def render(ch: Channel, now: float) -> tuple[str, list[Shown]]:
    """The media playlist at ``now``, and what it shows read back from its text."""
    window = Timeline(ch).window(now)
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
