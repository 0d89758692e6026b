"""The tus protocol's pure parts: header parsing and the part plan."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from ingest.uploads import tus

MiB = 1024 * 1024


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_metadata_pairs_decode_and_a_key_may_have_no_value() -> None:
    raw = f"filename {b64('talk final.mp4')},filetype {b64('video/mp4')},is_confidential"
    assert tus.parse_metadata(raw) == {"filename": "talk final.mp4", "filetype": "video/mp4",
                                       "is_confidential": ""}
    assert tus.parse_metadata(None) == {}


@pytest.mark.parametrize("raw", ["filename not-base64!", f"a {b64('x')},a {b64('y')}",
                                 f"bad key {b64('x')}", "x" * 5000])
def test_bad_metadata_is_refused(raw: str) -> None:
    with pytest.raises(tus.InvalidTusHeader):
        tus.parse_metadata(raw)


def test_checksum_header_parses_algorithm_and_digest() -> None:
    digest = bytes(range(20))
    raw = "sha1 " + base64.b64encode(digest).decode()
    assert tus.parse_checksum(raw) == ("sha1", digest)
    assert tus.parse_checksum(None) is None


def test_unknown_checksum_algorithm_is_its_own_error() -> None:
    with pytest.raises(tus.UnsupportedChecksum):
        tus.parse_checksum("crc32 AAAA")
    with pytest.raises(tus.InvalidTusHeader):
        tus.parse_checksum("sha1 ***")


@pytest.mark.parametrize("raw", [None, "", "-1", "1.5", "12a", "\uff11\uff12", "9" * 20])
def test_offsets_and_lengths_are_plain_non_negative_integers(raw: str | None) -> None:
    with pytest.raises(tus.InvalidTusHeader):
        tus.parse_int("Upload-Offset", raw)


def test_part_size_is_8_mib_until_10000_parts_would_not_do() -> None:
    assert tus.part_size_for(1) == 8 * MiB
    assert tus.part_size_for(10_000 * 8 * MiB) == 8 * MiB
    bigger = tus.part_size_for(10_000 * 8 * MiB + 1)
    assert bigger == 9 * MiB
    assert (10_000 * 8 * MiB + 1) / bigger <= tus.MAX_PARTS


def test_upload_expires_is_an_rfc7231_date() -> None:
    when = datetime(2026, 12, 1, 9, 30, 5, tzinfo=UTC)
    assert tus.http_date(when) == "Tue, 01 Dec 2026 09:30:05 GMT"
