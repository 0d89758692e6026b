"""Signed playback tokens for private assets and channels: HMAC over (subject, expiry)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def issue(secret: str, subject: str, ttl_s: int, now: float | None = None) -> tuple[str, int]:
    """A token granting playback of ``subject`` until the returned unix time."""
    expires = int((now or time.time()) + ttl_s)
    mac = hmac.new(secret.encode(), f"{subject}|{expires}".encode(), hashlib.sha256).digest()
    return f"{expires}.{_b64(mac[:18])}", expires


def verified_expiry(secret: str, subject: str, token: str | None,
                    now: float | None = None) -> int | None:
    """The unix time until which ``token`` grants ``subject``, or None when it does not."""
    if not token or "." not in token:
        return None
    raw_exp, _, _ = token.partition(".")
    try:
        expires = int(raw_exp)
    except ValueError:
        return None
    if expires < (now or time.time()):
        return None
    expected, _ = issue(secret, subject, 0, now=expires)
    # As bytes: compare_digest raises TypeError on non-ASCII str, and a query string holds anything.
    if not hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace")):
        return None
    return expires


def verify(secret: str, subject: str, token: str | None, now: float | None = None) -> bool:
    return verified_expiry(secret, subject, token, now) is not None
