"""The H.264 encoder of the ladder: a hardware one (NVENC, Quick Sync, VAAPI) when ffmpeg lists
it *and* a tiny test encode succeeds on this machine, else libx264.

ffmpeg builds (Debian's among them) list h264_nvenc, h264_qsv and h264_vaapi whether or not a
GPU is there, so being listed proves nothing: each candidate must encode a few frames first.
The choice is made once per worker process (`detect`) and changes only the encoder's own
options (`Encoder`); the ladder (renditions, rates, forced keyframes every segment, one
ffmpeg pass) keeps the same structure.

`parse_encoder_list` and `select` are pure, so the preference order and the fallback are
tested with made-up encoder lists and test-encode outcomes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ingest.errors import FfmpegFailed, FfmpegTimeout
from ingest.media import commands, ffmpeg

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 20


@dataclass(frozen=True)
class Encoder:
    """One H.264 encoder as the ladder command uses it."""

    name: str
    """ffmpeg's encoder name (`-c:v`)."""
    kind: str
    """`nvenc`, `qsv`, `vaapi` or `software`."""
    upload_filter: str | None = None
    """Filter appended to each rendition's chain to hand frames to the device (VAAPI)."""
    device_args: tuple[str, ...] = ()
    """Global options opening the device, before the input."""

    @property
    def hardware(self) -> bool:
        return self.kind != "software"


LIBX264 = Encoder("libx264", "software")
NVENC = Encoder("h264_nvenc", "nvenc")
QSV = Encoder("h264_qsv", "qsv")
VAAPI = Encoder("h264_vaapi", "vaapi", upload_filter="format=nv12,hwupload",
                device_args=("-vaapi_device", "/dev/dri/renderD128"))
PREFERENCE: tuple[Encoder, ...] = (NVENC, QSV, VAAPI)
"""Tried in this order; libx264 is the fallback (always built in Debian's ffmpeg)."""
BY_NAME = {e.name: e for e in (*PREFERENCE, LIBX264)}


def parse_encoder_list(text: str) -> set[str]:
    """Encoder names from `ffmpeg -hide_banner -encoders` (lines ` V....D name  description`)."""
    names = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "VAS" \
                and not parts[1].startswith("="):
            names.add(parts[1])
    return names


def select(listed: Iterable[str], works: Callable[[Encoder], bool],
           wanted: str = "auto") -> Encoder:
    """The encoder to use: ``wanted`` by name (still only if it works), or with `auto` the
    first hardware encoder that is listed and passes its test encode; libx264 otherwise."""
    names = set(listed)
    if wanted != "auto":
        candidates = [BY_NAME[wanted]] if wanted in BY_NAME else []
    else:
        candidates = list(PREFERENCE)
    for encoder in candidates:
        if encoder is LIBX264:
            return LIBX264
        if encoder.name in names and works(encoder):
            return encoder
    return LIBX264


def detect(wanted: str = "auto", nice: int = 0) -> Encoder:
    """Ask this machine's ffmpeg which encoders it lists, try the candidates, pick one."""
    try:
        listing = ffmpeg.run(commands.list_encoders_command(), timeout_s=PROBE_TIMEOUT_S,
                             nice=nice, capture_stdout=True)
    except (FfmpegFailed, FfmpegTimeout) as exc:
        log.warning("ffmpeg -encoders failed (%s): using libx264", exc)
        return LIBX264
    chosen = select(parse_encoder_list(listing.stdout.decode(errors="replace")),
                    lambda e: _test_encode(e, nice), wanted)
    log.info("video encoder: %s", chosen.name)
    return chosen


def _test_encode(encoder: Encoder, nice: int) -> bool:
    """A few frames of a test pattern through the encoder, to nowhere."""
    try:
        ffmpeg.run(commands.encoder_test_command(encoder.name, encoder.device_args,
                                                 encoder.upload_filter),
                   timeout_s=PROBE_TIMEOUT_S, nice=nice)
    except (FfmpegFailed, FfmpegTimeout) as exc:
        log.info("%s is listed but does not work here: %s", encoder.name, exc)
        return False
    return True
