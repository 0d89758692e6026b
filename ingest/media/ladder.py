"""The adaptive bitrate ladder as data, and the pure choice of renditions for one source."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True)
class Rung:
    """One step of the ladder: a target height and its bitrates."""

    name: str
    height: int
    video_kbps: int
    audio_kbps: int = 128


class Rendition(BaseModel):
    """One rendition of an asset, the one type for it: what the ladder chose for the source
    (exact size, rate and codec parameters), with the bit rates publishing measured on its
    segments. The asset record, the API and the multivariant playlist all show this."""

    model_config = ConfigDict(frozen=True)

    name: str
    width: int
    height: int
    fps: float
    video_kbps: int
    maxrate_kbps: int
    bufsize_kbps: int
    audio_kbps: int | None
    level: str
    bandwidth: int
    """Peak bits/s (HLS BANDWIDTH): declared (video maxrate + audio) until publishing
    measures it on the real segments."""
    average_bandwidth: int | None = None
    """Mean bits/s (HLS AVERAGE-BANDWIDTH), measured at publish."""
    codecs: str
    """RFC 6381 codecs (HLS CODECS) of what the plan encodes; see ``h264_codecs``."""

    def measured(self, peak: int, average: int) -> Rendition:
        """This rendition with the bit rates measured on its segments."""
        return self.model_copy(update={"bandwidth": peak, "average_bandwidth": average})


LADDER: tuple[Rung, ...] = (
    Rung("1080p", 1080, 5000),
    Rung("720p", 720, 2800),
    Rung("480p", 480, 1400),
    Rung("360p", 360, 800),
)
"""H.264 High + AAC-LC 128k stereo. Heights of a 16:9 ladder; widths follow the source's aspect."""

MAX_FPS = 60.0
MAXRATE_FACTOR = 1.1
BUFSIZE_FACTOR = 2.0

# H.264 levels (Table A-1): max macroblocks per second and per frame.
_LEVELS: tuple[tuple[str, int, int], ...] = (
    ("3.0", 40_500, 1_620),
    ("3.1", 108_000, 3_600),
    ("3.2", 216_000, 5_120),
    ("4.0", 245_760, 8_192),
    ("4.2", 522_240, 8_704),
    ("5.0", 589_824, 22_080),
    ("5.1", 983_040, 36_864),
    ("5.2", 2_073_600, 36_864),
)


def h264_level(width: int, height: int, fps: float) -> str:
    """The lowest H.264 level whose frame size and macroblock rate fit the rendition."""
    mbs = ((width + 15) // 16) * ((height + 15) // 16)
    for name, max_mbps, max_fs in _LEVELS:
        if mbs <= max_fs and mbs * fps <= max_mbps:
            return name
    return "5.2"


def h264_codecs(level: str, has_audio: bool) -> str:
    """RFC 6381 codecs: H.264 High at ``level``, and AAC-LC when there is audio."""
    video = f"avc1.6400{int(level.replace('.', '')):02x}"
    return f"{video},mp4a.40.2" if has_audio else video


def with_video_kbps(plan: Rendition, kbps: int) -> Rendition:
    """``plan`` at another video bit rate, its peak rate, buffer and declared bandwidth following
    the same factors as the fixed ladder (per-title bit rates: ingest.media.pertitle)."""
    maxrate = int(kbps * MAXRATE_FACTOR)
    return plan.model_copy(update={
        "video_kbps": kbps, "maxrate_kbps": maxrate, "bufsize_kbps": int(kbps * BUFSIZE_FACTOR),
        "bandwidth": (maxrate + (plan.audio_kbps or 0)) * 1000})


def _even(x: float) -> int:
    return max(2, round(x / 2.0) * 2)


def _even_floor(x: int) -> int:
    """The largest even size not above ``x``: rounding an odd source size up would upscale."""
    return max(2, x - x % 2)


def output_fps(source_fps: float | None) -> float:
    """Keep the source's rate (capped at 60; 25 when the source does not say)."""
    if not source_fps or source_fps <= 0:
        return 25.0
    fps = source_fps
    while fps > MAX_FPS:
        fps /= 2
    return round(fps, 3)


def select_renditions(
    width: int, height: int, fps: float | None, has_audio: bool,
    ladder: tuple[Rung, ...] = LADDER,
) -> list[Rendition]:
    """Rungs no taller than the source (never upscale), aspect kept, even sizes, at least one.

    Portrait sources are laddered on their short side, so a 1080x1920 phone video gets 1080p.
    The source's own size becomes the single rendition when it is smaller than every rung.
    """
    short, long_ = min(width, height), max(width, height)
    portrait = height > width
    rate = output_fps(fps)
    chosen = [r for r in ladder if r.height <= short]
    if not chosen:
        smallest = ladder[-1]
        own = _even_floor(short)
        chosen = [Rung(f"{own}p", own, smallest.video_kbps, smallest.audio_kbps)]
    renditions = []
    for rung in chosen:
        s = rung.height
        l_ = min(_even(long_ * s / short), _even_floor(long_))
        w, h = (s, l_) if portrait else (l_, s)
        w, h = _even(w), _even(h)
        kbps = rung.video_kbps if rate <= 30.5 else int(rung.video_kbps * 1.5)
        maxrate, audio = int(kbps * MAXRATE_FACTOR), rung.audio_kbps if has_audio else None
        level = h264_level(w, h, rate)
        renditions.append(
            Rendition(
                name=rung.name, width=w, height=h, fps=rate, video_kbps=kbps,
                maxrate_kbps=maxrate, bufsize_kbps=int(kbps * BUFSIZE_FACTOR),
                audio_kbps=audio, level=level, bandwidth=(maxrate + (audio or 0)) * 1000,
                codecs=h264_codecs(level, has_audio),
            )
        )
    return renditions
