"""The studio's session cookie and CSRF rules (pure functions of api.studio_session)."""

from __future__ import annotations

import pytest

from api import studio_session as ss
from ingest.errors import Forbidden, Unauthorized

SECRET = "s3cret"
KEYS = ["key-one", "key-two"]
OWN = ["http://127.0.0.1:8000"]


def test_a_session_names_its_key_until_it_expires() -> None:
    cookie = ss.issue(SECRET, "key-two", ttl_s=60, now=1000)
    assert "key-two" not in cookie
    assert ss.key_of(SECRET, cookie, KEYS, now=1059) == "key-two"
    assert ss.key_of(SECRET, cookie, KEYS, now=1061) is None


def test_a_forged_or_revoked_session_names_no_key() -> None:
    cookie = ss.issue(SECRET, "key-one", ttl_s=60, now=1000)
    fp, expires, nonce, mac = cookie.split(".")
    assert ss.key_of("other-secret", cookie, KEYS, now=1000) is None
    assert ss.key_of(SECRET, f"{fp}.{int(expires) + 999}.{nonce}.{mac}", KEYS, now=1000) is None
    assert ss.key_of(SECRET, f"{fp}.{expires}.{nonce}0.{mac}", KEYS, now=1000) is None
    assert ss.key_of(SECRET, "garbage", KEYS, now=1000) is None
    assert ss.key_of(SECRET, cookie, ["key-two"], now=1000) is None  # key removed


@pytest.mark.parametrize("expires", ["\u00b2", "9" * 5000])
def test_an_odd_expiry_is_no_session_rather_than_an_error(expires: str) -> None:
    """Any client can send any cookie (a viewer too): `²` passes str.isdigit but not int(),
    and 5000 digits exceed int()'s limit; either was a 500."""
    assert ss.key_of(SECRET, f"ab.{expires}.n.x", KEYS, now=1000) is None
    assert ss.expiry_of(f"ab.{expires}.n.x") is None


def test_two_logins_in_the_same_second_are_two_sessions() -> None:
    """Logging out of one (its id is revoked) must leave the other."""
    one, two = (ss.issue(SECRET, "key-one", ttl_s=60, now=1000) for _ in range(2))
    assert one != two and ss.session_id(one) != ss.session_id(two)
    assert ss.key_of(SECRET, one, KEYS, now=1000) == ss.key_of(SECRET, two, KEYS, now=1000)


def test_reads_need_no_csrf_token() -> None:
    ss.check_request(SECRET, "c", "GET", {}, OWN)


def test_changes_need_the_sessions_csrf_token() -> None:
    token = ss.csrf_token(SECRET, "cookie-a")
    ss.check_request(SECRET, "cookie-a", "POST", {"x-csrf-token": token}, OWN)
    with pytest.raises(Forbidden) as exc:
        ss.check_request(SECRET, "cookie-a", "DELETE", {}, OWN)
    assert exc.value.code == "csrf_token_invalid"
    with pytest.raises(Forbidden):
        ss.check_request(SECRET, "cookie-b", "POST", {"x-csrf-token": token}, OWN)


def test_changes_from_another_origin_are_refused_even_with_the_token() -> None:
    token = ss.csrf_token(SECRET, "c")
    with pytest.raises(Forbidden) as exc:
        ss.check_request(SECRET, "c", "POST",
                         {"x-csrf-token": token, "origin": "https://evil.example"}, OWN)
    assert exc.value.code == "cross_origin_request"
    ss.check_request(SECRET, "c", "POST", {"x-csrf-token": token, "origin": OWN[0]}, OWN)


def test_an_expired_session_is_401() -> None:
    with pytest.raises(Unauthorized):
        ss.producer_of_cookie(SECRET, "x.1.y", KEYS, "GET", {}, OWN)
