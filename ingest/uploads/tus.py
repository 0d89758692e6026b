"""The tus 1.0.0 protocol's pure parts: header parsing and the S3 part plan.

Spec: https://tus.io/protocols/resumable-upload (core, creation, creation-with-upload,
termination, checksum, expiration).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, datetime
from email.utils import format_datetime

from ingest.errors import InvalidInput

VERSION = "1.0.0"
EXTENSIONS = ("creation", "creation-with-upload", "termination", "checksum", "expiration")
CHECKSUM_ALGORITHMS = ("sha1", "sha256", "md5")
CONTENT_TYPE = "application/offset+octet-stream"

MIN_PART_SIZE = 8 * 1024 * 1024
"""Every part but the last has exactly this size (some S3 stores want equal parts; S3 wants
at least 5 MiB), unless the upload is too long for 10,000 of them."""
MAX_PARTS = 10_000
MAX_METADATA_CHARS = 4096
_KEY_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")


class InvalidTusHeader(InvalidInput):
    code = "invalid_tus_header"


class UnsupportedChecksum(InvalidInput):
    code = "checksum_algorithm_unsupported"


def part_size_for(length: int, minimum: int = MIN_PART_SIZE) -> int:
    """The size of every part but the last: ``minimum``, or the next MiB multiple that keeps
    the upload within MAX_PARTS parts."""
    needed = math.ceil(length / MAX_PARTS)
    mib = 1024 * 1024
    return max(minimum, math.ceil(needed / mib) * mib)


def parse_int(name: str, raw: str | None) -> int:
    """A non-negative decimal header value (Upload-Offset, Upload-Length)."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise InvalidTusHeader(f"{name} must be a non-negative integer.")
    return int(raw)


def parse_metadata(raw: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64(value)` pairs (the value may be absent)."""
    if not raw:
        return {}
    if len(raw) > MAX_METADATA_CHARS:
        raise InvalidTusHeader("Upload-Metadata is too long.")
    out: dict[str, str] = {}
    for pair in raw.split(","):
        key, _, encoded = pair.strip().partition(" ")
        if not _KEY_RE.fullmatch(key) or key in out:
            raise InvalidTusHeader("Upload-Metadata has an invalid or repeated key.")
        try:
            value = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidTusHeader(f"Upload-Metadata value of {key!r} is not base64 of "
                                   f"UTF-8 text.") from exc
        out[key] = " ".join(value.split())
    return out


def parse_checksum(raw: str | None) -> tuple[str, bytes] | None:
    """Upload-Checksum `<algorithm> <base64 digest>`; None without the header."""
    if raw is None:
        return None
    algorithm, _, encoded = raw.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise UnsupportedChecksum(f"Checksum algorithm {algorithm[:20]!r} is not supported "
                                  f"(use one of {', '.join(CHECKSUM_ALGORITHMS)}).")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as exc:
        raise InvalidTusHeader("Upload-Checksum's digest is not base64.") from exc
    return algorithm, digest


def http_date(when: datetime) -> str:
    """RFC 7231 date, as Upload-Expires wants it."""
    return format_datetime(when.astimezone(UTC), usegmt=True)
