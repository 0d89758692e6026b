"""The studio's login: a signed session cookie that names a producer key without holding it.

The cookie is `{key fingerprint}.{expiry}.{nonce}.{HMAC}` (the nonce makes two logins in the
same second two sessions, so logging out of one leaves the other): HttpOnly and
SameSite=Strict, so scripts cannot read it and other sites' pages do not send it. A request
authenticated by the cookie that changes anything must also carry the session's CSRF token
(`X-CSRF-Token`, which the studio page holds in a meta tag; a cross-site form cannot set a
header) and, when the browser sends one, an `Origin` equal to the server's own. Removing a
key from PODIUM_API_KEYS ends every session made with it. Logging out revokes the session
itself: a copy of the cookie taken before (another tab, a stolen value) stops working too
(api.studio_revocations).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from ingest.errors import Forbidden, Unauthorized

COOKIE = "podium_studio"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fingerprint(key: str) -> str:
    """A stable, non-reversible name of a producer key (what the cookie carries)."""
    return hashlib.sha256(f"podium-studio-key|{key}".encode()).hexdigest()[:20]


def _mac(secret: str, message: str) -> str:
    return _b64(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()[:24])


def issue(secret: str, key: str, ttl_s: int, now: float | None = None) -> str:
    """The cookie value of a new session for ``key``."""
    expires = int((now or time.time()) + ttl_s)
    fp, nonce = fingerprint(key), secrets.token_hex(8)
    return f"{fp}.{expires}.{nonce}.{_mac(secret, f'session|{fp}|{expires}|{nonce}')}"


def _parts(cookie: str) -> tuple[str, int, str, str] | None:
    """Fingerprint, expiry, nonce and MAC of a well-formed cookie, else None."""
    parts = cookie.split(".")
    if len(parts) != 4:
        return None
    fp, raw_expires, nonce, mac = parts
    # ASCII and short: str.isdigit also takes `²`, and int() refuses 4300+ digits
    if not (raw_expires.isascii() and raw_expires.isdigit() and len(raw_expires) <= 12):
        return None
    return fp, int(raw_expires), nonce, mac


def key_of(secret: str, cookie: str, keys: Sequence[str], now: float | None = None) -> str | None:
    """The producer key a valid, unexpired session cookie names, else None."""
    parts = _parts(cookie)
    if parts is None or parts[1] < (now or time.time()):
        return None
    fp, expires, nonce, mac = parts
    expected = _mac(secret, f"session|{fp}|{expires}|{nonce}")
    if not hmac.compare_digest(expected.encode(), mac.encode("utf-8", "replace")):
        return None
    return next((k for k in keys if hmac.compare_digest(fingerprint(k), fp)), None)


def expiry_of(cookie: str) -> int | None:
    """The unix time a well-formed cookie expires at (unchecked: key_of checks)."""
    parts = _parts(cookie)
    return parts[1] if parts is not None else None


def session_id(cookie: str) -> str:
    """What names one session in the revocation list (a hash: the list holds no cookies)."""
    return hashlib.sha256(f"podium-studio-session|{cookie}".encode()).hexdigest()[:32]


def csrf_token(secret: str, cookie: str) -> str:
    """The token a state-changing request of this session must send back in `X-CSRF-Token`."""
    return _mac(secret, f"csrf|{cookie}")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_request(secret: str, cookie: str, method: str, headers: Mapping[str, str],
                  own_origins: Sequence[str]) -> None:
    """Refuse a cookie-authenticated change without the CSRF token, or from another origin."""
    if method.upper() in SAFE_METHODS:
        return
    origin = headers.get("origin")
    if origin is not None and origin.lower() not in own_origins:
        raise Forbidden("The studio accepts changes only from its own pages.",
                        code="cross_origin_request")
    sent = headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(csrf_token(secret, cookie).encode(),
                               sent.encode("utf-8", "replace")):
        raise Forbidden("A studio request that changes something needs the page's "
                        "X-CSRF-Token header.", code="csrf_token_invalid")


def producer_of_cookie(secret: str, cookie: str, keys: Sequence[str], method: str,
                       headers: Mapping[str, str], own_origins: Sequence[str]) -> str:
    """The producer key behind a studio request; 401 for a stale session, 403 for CSRF."""
    key = key_of(secret, cookie, keys)
    if key is None:
        raise Unauthorized("The studio session has expired: log in again at /studio.")
    check_request(secret, cookie, method, headers, own_origins)
    return key
