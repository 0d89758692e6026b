"""What an upload is: container sniffing, ffprobe output parsing, and validation against limits.

Untrusted media is identified here before ffmpeg ever sees it: the container is recognised from
its first bytes, and only that demuxer is later forced on ffprobe and ffmpeg, so a playlist, an
ffconcat list or an image sequence can never be interpreted as a source (no demuxer of those
kinds can run, so nothing can make ffmpeg open another file or URL).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field

from ingest.errors import InvalidMedia, LimitExceeded

SNIFF_BYTES = 4096
MIN_FRAME_SHARE = 0.25
"""A video must hold at least this share of the frames its duration and frame rate claim.
Encoders drop some frames (variable frame rate), never three in four: a file that claims an
hour at 60 fps but holds a few packets would keep a worker busy for hours filling the gap."""
MIN_BYTES_PER_S = 125
"""1 kbit/s: below this no real video is left; a few KB claiming hours is a crafted header."""
DEFAULT_FPS = 25.0
"""The rate a transcode assumes when the source does not say (ingest.media.ladder)."""

# ffprobe's format_name for each container we accept -> the demuxer we force.
_DEMUXERS = {
    "mov,mp4,m4a,3gp,3g2,mj2": "mov",
    "matroska,webm": "matroska",
    "avi": "avi",
    "mpegts": "mpegts",
    "flv": "flv",
    "mxf": "mxf",
}
_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"}


@dataclass(frozen=True)
class Limits:
    max_duration_s: float
    min_duration_s: float
    max_width: int
    max_height: int
    max_fps: float
    max_streams: int
    allowed_formats: frozenset[str]
    allowed_video_codecs: frozenset[str]
    allowed_audio_codecs: frozenset[str]


class MediaInfo(BaseModel):
    """What the probe found in a source; the asset keeps it as `source`, so later jobs need
    not probe again. Records written before `streams` and `audio_channels` were kept read
    with their defaults (their `has_audio` key is derived from `audio_codec` now)."""

    model_config = ConfigDict(frozen=True)

    demuxer: str
    format_name: str
    duration_s: float
    streams: int = 0
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    audio_channels: int | None = None
    video_stream: int | None = None
    """ffprobe index of the chosen video stream: what ffmpeg maps (`0:<index>`), nothing else.
    None in records written before streams were recorded: the transcode probes again."""
    audio_stream: int | None = None
    """ffprobe index of the chosen audio stream (the first one), or None without audio."""
    video_packets: int | None = None
    """Packets of the chosen video stream counted by demuxing the whole file (-count_packets)."""
    size_bytes: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_video(self) -> bool:
        return self.video_codec is not None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


def sniff_demuxer(head: bytes) -> str:
    """The demuxer to force for a file starting with ``head``; InvalidMedia when none fits."""
    if not head:
        raise InvalidMedia("The upload is empty.", code="empty_file")
    if len(head) >= 12 and head[4:8] in _MP4_BOXES:
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head.startswith(b"\x06\x0e\x2b\x34"):
        return "mxf"
    if _looks_like_mpegts(head):
        return "mpegts"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"#EXTM3U") or stripped.lower().startswith(b"ffconcat"):
        raise InvalidMedia(
            "Playlists and concat lists are not accepted as video; upload the media file itself.",
            code="playlist_not_allowed",
        )
    raise InvalidMedia(
        "The upload is not a video container Podium accepts (MP4/MOV, MKV/WebM, AVI, MPEG-TS, "
        "FLV, MXF).",
        code="unsupported_container",
    )


def _looks_like_mpegts(head: bytes) -> bool:
    packets = len(head) // 188
    return packets >= 3 and all(head[i * 188] == 0x47 for i in range(min(packets, 8)))


def _rate(value: str | None) -> float | None:
    if not value or value in {"0/0", "0"}:
        return None
    try:
        rate = float(Fraction(value))
    except (ValueError, ZeroDivisionError):
        return None
    return rate if rate > 0 else None


def parse_probe(raw: str | bytes, demuxer: str, size_bytes: int = 0) -> MediaInfo:
    """MediaInfo from ``ffprobe -print_format json -show_format -show_streams`` output of a
    file of ``size_bytes``."""
    try:
        data: dict[str, Any] = json.loads(raw)
    except ValueError as exc:
        raise InvalidMedia("The file could not be read as media.", code="probe_failed") from exc
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    video = next((s for s in streams if _is_moving_picture(s)), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = _duration(fmt, video, audio)
    fps = None
    if video:
        fps = _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))
    return MediaInfo(
        demuxer=demuxer,
        format_name=str(fmt.get("format_name", "")),
        duration_s=duration,
        streams=len(streams),
        width=int(video["width"]) if video and video.get("width") else None,
        height=int(video["height"]) if video and video.get("height") else None,
        fps=fps,
        video_codec=str(video["codec_name"]) if video and video.get("codec_name") else None,
        audio_codec=str(audio["codec_name"]) if audio and audio.get("codec_name") else None,
        audio_channels=int(audio.get("channels") or 0) if audio else None,
        video_stream=_int(video.get("index")) if video else None,
        audio_stream=_int(audio.get("index")) if audio else None,
        video_packets=_int(video.get("nb_read_packets")) if video else None,
        size_bytes=size_bytes or _int(fmt.get("size")) or 0,
    )


def _is_moving_picture(stream: dict[str, Any]) -> bool:
    """A video stream that is the video: not a cover picture or thumbnail track stored beside
    it (which may come first in the file, and may be far larger than the video)."""
    disposition = stream.get("disposition") or {}
    return (stream.get("codec_type") == "video" and not disposition.get("attached_pic")
            and not disposition.get("timed_thumbnails"))


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _duration(fmt: dict[str, Any], *streams: dict[str, Any] | None) -> float:
    candidates = [fmt.get("duration")] + [s.get("duration") for s in streams if s]
    for value in candidates:
        try:
            d = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if d > 0:
            return d
    return 0.0


def validate(info: MediaInfo, limits: Limits) -> None:
    """Raise InvalidMedia / LimitExceeded with a specific code when the media cannot be taken."""
    accepted = info.demuxer in limits.allowed_formats
    if _DEMUXERS.get(info.format_name) != info.demuxer or not accepted:
        raise InvalidMedia(f"Container '{info.format_name}' is not accepted.",
                           code="unsupported_container")
    if not info.has_video:
        raise InvalidMedia("The file has no video stream; Podium takes video messages "
                           "(send audio-only talks with a still image as video).",
                           code="no_video_stream")
    if info.video_codec not in limits.allowed_video_codecs:
        raise InvalidMedia(f"Video codec '{info.video_codec}' is not accepted.",
                           code="unsupported_codec")
    if info.has_audio and info.audio_codec not in limits.allowed_audio_codecs:
        raise InvalidMedia(f"Audio codec '{info.audio_codec}' is not accepted.",
                           code="unsupported_codec")
    if not info.width or not info.height:
        raise InvalidMedia("The video stream has no frame size.", code="invalid_media")
    if info.duration_s < limits.min_duration_s:
        raise InvalidMedia("The video has no usable duration (is it truncated?).",
                           code="invalid_duration")
    if info.duration_s > limits.max_duration_s:
        raise LimitExceeded(f"The video lasts {info.duration_s:.0f} s; the limit is "
                            f"{limits.max_duration_s:.0f} s.", code="duration_too_long")
    if info.width > limits.max_width or info.height > limits.max_height:
        raise LimitExceeded(f"Resolution {info.width}x{info.height} is above the limit "
                            f"{limits.max_width}x{limits.max_height}.", code="resolution_too_high")
    if info.fps is not None and info.fps > limits.max_fps:
        raise LimitExceeded(f"Frame rate {info.fps:.1f} is above the limit {limits.max_fps:.0f}.",
                            code="frame_rate_too_high")
    if info.streams > limits.max_streams:
        raise LimitExceeded(f"The file has {info.streams} streams; the limit is "
                            f"{limits.max_streams}.", code="too_many_streams")
    check_plausible(info)


def check_plausible(info: MediaInfo) -> None:
    """Refuse a file whose headers claim far more than it holds (InvalidMedia
    `implausible_media`): the work of a transcode follows the claimed duration and frame rate,
    so they must match the packets and bytes really in the file."""
    duration = info.duration_s
    if info.size_bytes and info.size_bytes < duration * MIN_BYTES_PER_S:
        raise InvalidMedia(f"The file holds {info.size_bytes} bytes but claims to last "
                           f"{duration:.0f} s: it cannot be real video.", code="implausible_media")
    if info.video_packets is None:
        return
    fps = info.fps or DEFAULT_FPS
    claimed = duration * fps
    # one second of grace: short clips may lose a frame or two at either end
    if info.video_packets < (claimed - fps) * MIN_FRAME_SHARE:
        raise InvalidMedia(f"The video claims {claimed:.0f} frames ({duration:.0f} s at "
                           f"{fps:g} fps) but holds {info.video_packets}.",
                           code="implausible_media")
