"""Signed playback tokens: roundtrip, expiry, wrong subject, tampering, garbage."""

from __future__ import annotations

import pytest

from api.tokens import issue, verify

SECRET = "s3cret-for-tests"
NOW = 1_700_000_000.0


def test_roundtrip() -> None:
    token, expires = issue(SECRET, "as-0123456789abcdef", 600, now=NOW)
    assert expires == 1_700_000_600
    assert token.startswith("1700000600.")
    assert verify(SECRET, "as-0123456789abcdef", token, now=NOW)
    assert verify(SECRET, "as-0123456789abcdef", token, now=NOW + 600)


def test_issue_is_deterministic_and_url_safe() -> None:
    token, _ = issue(SECRET, "as-0123456789abcdef", 600, now=NOW)
    assert token == issue(SECRET, "as-0123456789abcdef", 600, now=NOW)[0]
    assert all(c.isalnum() or c in "-_." for c in token)
    assert "=" not in token


def test_expired() -> None:
    token, _ = issue(SECRET, "as-0123456789abcdef", 600, now=NOW)
    assert not verify(SECRET, "as-0123456789abcdef", token, now=NOW + 601)


def test_wrong_subject_or_secret() -> None:
    token, _ = issue(SECRET, "as-0123456789abcdef", 600, now=NOW)
    assert not verify(SECRET, "as-fedcba9876543210", token, now=NOW)
    assert not verify("other-secret", "as-0123456789abcdef", token, now=NOW)


def test_tampered() -> None:
    token, expires = issue(SECRET, "as-0123456789abcdef", 600, now=NOW)
    _, mac = token.split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    for bad in (f"{expires + 3600}.{mac}", f"{expires}.{flipped}", f"{expires}.{mac[:-1]}",
                f"{expires}.{mac}x", f"+{expires}.{mac}", f"0{expires}.{mac}",
                f" {expires}.{mac}", f"{expires}.{mac}.{mac}"):
        assert not verify(SECRET, "as-0123456789abcdef", bad, now=NOW), bad


@pytest.mark.parametrize("garbage", [
    None, "", ".", "abc", "abc.def", "1700000600", "1700000600.", "-1.abc", "1e12.abc",
    "9" * 5000 + ".abc", "1700000600.\u00e9\u00e9\u00e9", "\u0661\u0667\u0660\u0660.abc",
    "\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660.abc",
    "1700000600.\ud800",
])
def test_garbage_is_refused_without_raising(garbage: str | None) -> None:
    assert verify(SECRET, "as-0123456789abcdef", garbage, now=NOW) is False
