"""HLS playlists as objects that serialise to text (RFC 8216), and media-playlist rewriting."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    uri: str
    bandwidth: int
    average_bandwidth: int | None
    width: int
    height: int
    fps: float
    codecs: str


@dataclass(frozen=True)
class SubtitleTrack:
    uri: str
    language: str
    name: str
    default: bool = False


@dataclass
class MultivariantPlaylist:
    variants: list[Variant]
    subtitles: list[SubtitleTrack] = field(default_factory=list)
    group: str = "subs"

    def dumps(self) -> str:
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
        for t in self.subtitles:
            flag = "YES" if t.default else "NO"
            lines.append(
                f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{self.group}",NAME="{_q(t.name)}",'
                f'LANGUAGE="{_q(t.language)}",DEFAULT={flag},AUTOSELECT=YES,URI="{_q(t.uri)}"'
            )
        for v in sorted(self.variants, key=lambda v: v.bandwidth, reverse=True):
            attrs = [f"BANDWIDTH={v.bandwidth}"]
            if v.average_bandwidth:
                attrs.append(f"AVERAGE-BANDWIDTH={v.average_bandwidth}")
            attrs += [f"RESOLUTION={v.width}x{v.height}", f"FRAME-RATE={v.fps:.3f}",
                      f'CODECS="{v.codecs}"']
            if self.subtitles:
                attrs.append(f'SUBTITLES="{self.group}"')
            lines.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
            lines.append(v.uri)
        return "\n".join(lines) + "\n"


def _q(value: str) -> str:
    """Quoted-string attribute values may not hold quotes or line breaks (RFC 8216 4.2)."""
    return value.replace('"', "'").replace("\n", " ").replace("\r", " ")


_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^",]*)')


def parse_attributes(line: str) -> dict[str, str]:
    """The attribute list of a tag line (RFC 8216 4.2), quoted values unquoted."""
    _tag, _, rest = line.partition(":")
    return {name: value.strip('"') for name, value in _ATTRIBUTE.findall(rest)}


def parse_multivariant(text: str) -> MultivariantPlaylist:
    """Read back a playlist written by ``MultivariantPlaylist.dumps`` (variants and subtitles).

    Caption changes rewrite the subtitle lines of a published playlist; the variants, measured
    once when the asset was published, are kept as they are.
    """
    variants: list[Variant] = []
    subtitles: list[SubtitleTrack] = []
    group = "subs"
    lines = [line.strip() for line in text.splitlines()]
    for index, line in enumerate(lines):
        a = parse_attributes(line) if line.startswith("#EXT-X-") else {}
        if line.startswith("#EXT-X-MEDIA:") and a.get("TYPE") == "SUBTITLES":
            group = a.get("GROUP-ID", group)
            subtitles.append(SubtitleTrack(uri=a["URI"], language=a.get("LANGUAGE", ""),
                                           name=a.get("NAME", ""),
                                           default=a.get("DEFAULT") == "YES"))
        elif line.startswith("#EXT-X-STREAM-INF:") and index + 1 < len(lines):
            width, _, height = a["RESOLUTION"].partition("x")
            average = a.get("AVERAGE-BANDWIDTH")
            variants.append(Variant(
                uri=lines[index + 1], bandwidth=int(a["BANDWIDTH"]),
                average_bandwidth=int(average) if average else None, width=int(width),
                height=int(height), fps=float(a["FRAME-RATE"]), codecs=a["CODECS"]))
    if not variants:
        raise ValueError("not a multivariant playlist: no EXT-X-STREAM-INF")
    return MultivariantPlaylist(variants=variants, subtitles=subtitles, group=group)


@dataclass(frozen=True)
class Segment:
    uri: str
    duration: float


def parse_media_segments(text: str) -> list[Segment]:
    """The segments (EXTINF duration + URI) of a media playlist, in order."""
    segments: list[Segment] = []
    duration: float | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:"):].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            segments.append(Segment(line, duration))
            duration = None
    return segments


_URI_TAGS = ("#EXT-X-MAP:", "#EXT-X-MEDIA:")


def rewrite_uris(text: str, resolve: Callable[[str], str]) -> str:
    """Replace every URI line (and EXT-X-MAP / EXT-X-MEDIA URIs) with ``resolve(uri)``."""
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            out.append(resolve(stripped))
        elif stripped.startswith(_URI_TAGS) and 'URI="' in stripped:
            head, _, rest = stripped.partition('URI="')
            uri, _, tail = rest.partition('"')
            out.append(f'{head}URI="{resolve(uri)}"{tail}')
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def peak_and_average_bandwidth(sizes: Sequence[int], durations: Sequence[float]) -> tuple[int, int]:
    """BANDWIDTH is the peak segment bit rate, AVERAGE-BANDWIDTH the mean (RFC 8216 4.3.4.2)."""
    if not sizes or len(sizes) != len(durations):
        raise ValueError("need one size per segment")
    rates = [s * 8 / d for s, d in zip(sizes, durations, strict=True) if d > 0.5]
    if not rates:  # only very short segments: use the total
        rates = [sum(sizes) * 8 / max(sum(durations), 0.001)]
    total = sum(sizes) * 8 / max(sum(durations), 0.001)
    return int(max(rates)), int(total)
