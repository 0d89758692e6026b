"""The studio's login and how the API takes its session: cookie attributes, CSRF and Origin
checks on changes, the Bearer key unchanged, the pages' CSP."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from api import studio_session
from api.routes import studio
from config import get_settings
from runtime import handles
from tests.conftest import Stack


@pytest.fixture
def session(api_server: str, stack: Stack) -> Iterator[tuple[httpx.Client, str]]:
    """A browser-like client logged in to the studio, and its page's CSRF token."""
    with httpx.Client(base_url=api_server, timeout=30) as c:
        resp = c.post("/studio/login", data={"key": stack.api_key},
                      headers={"Origin": api_server})
        assert resp.status_code == 303 and resp.headers["location"] == "/studio/messages"
        cookie = resp.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert stack.api_key.lower() not in cookie
        page = c.get("/studio/messages")
        assert page.status_code == 200
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert token
        yield c, token.group(1)


def test_a_wrong_key_gets_the_form_again(anon: httpx.Client) -> None:
    resp = anon.post("/studio/login", data={"key": "nope"})
    assert resp.status_code == 403 and "not valid" in resp.text
    assert "set-cookie" not in resp.headers


def test_a_cross_site_login_is_refused(anon: httpx.Client, stack: Stack) -> None:
    for headers in ({"Origin": "https://elsewhere.example"}, {"Sec-Fetch-Site": "cross-site"}):
        resp = anon.post("/studio/login", data={"key": stack.api_key}, headers=headers)
        assert resp.status_code == 403 and "own page" in resp.text, headers
        assert "set-cookie" not in resp.headers


def test_pages_need_the_session(anon: httpx.Client) -> None:
    resp = anon.get("/studio/messages")
    assert resp.status_code == 303 and resp.headers["location"] == "/studio"
    assert anon.get("/studio/events").status_code == 401


def test_the_session_reads_and_changes_with_the_csrf_token(
        session: tuple[httpx.Client, str], api_server: str) -> None:
    c, token = session
    assert c.get("/v1/uploads").status_code == 200
    body = {"title": "From the studio", "language": "en"}
    refused = c.post("/v1/uploads", json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_token_invalid"
    other = c.post("/v1/uploads", json=body,
                   headers={"X-CSRF-Token": token, "Origin": "https://elsewhere.example"})
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "cross_origin_request"
    made = c.post("/v1/uploads", json=body,
                  headers={"X-CSRF-Token": token, "Origin": api_server})
    assert made.status_code == 201, made.text


def test_a_bearer_key_still_works_and_wins(client: httpx.Client) -> None:
    client.cookies.set("podium_studio", "forged.1.x")
    assert client.get("/v1/uploads").status_code == 200


def test_logout_needs_the_token_and_ends_the_cookie(session: tuple[httpx.Client, str]) -> None:
    c, token = session
    assert c.post("/studio/logout").status_code == 403
    resp = c.post("/studio/logout", headers={"X-CSRF-Token": token})
    assert resp.status_code == 204 and "podium_studio=" in resp.headers["set-cookie"]
    assert c.get("/v1/uploads").status_code == 401


def test_logout_ends_every_copy_of_the_session(session: tuple[httpx.Client, str],
                                               api_server: str) -> None:
    """A copy of the cookie taken before the logout (another tab, a stolen value) is refused
    after it, by the API, the pages and the event stream."""
    c, token = session
    cookie = c.cookies[studio_session.COOKIE]
    with httpx.Client(base_url=api_server, timeout=30,
                      cookies={studio_session.COOKIE: cookie}) as copy:
        assert copy.get("/v1/uploads").status_code == 200
        assert c.post("/studio/logout", headers={"X-CSRF-Token": token}).status_code == 204
        refused = copy.get("/v1/uploads")
        assert refused.status_code == 401 and "logged out" in refused.json()["error"]["message"]
        assert copy.get("/studio/messages").status_code == 303
        assert copy.get("/studio/events").status_code == 401


def test_the_event_stream_ends_with_its_session(api_server: str, stack: Stack) -> None:
    """An open stream of server-sent events must not outlive the session that opened it."""
    cookie = studio_session.issue(get_settings().studio_secret, stack.api_key, ttl_s=2)
    seen: list[str] = []
    header = {"Cookie": f"{studio_session.COOKIE}={cookie}"}
    with httpx.Client(base_url=api_server, headers=header,
                      timeout=httpx.Timeout(30, read=8)) as c, c.stream(
            "GET", "/studio/events") as resp:
        assert resp.status_code == 200
        seen += [line for line in resp.iter_lines() if line.startswith("event:")]
    assert seen[0] == "event: snapshot" and seen[-1] == "event: expired"
    assert httpx.get(f"{api_server}/studio/events", headers=header).status_code == 401


def test_open_event_streams_share_one_read_of_the_asset_list(stack: Stack) -> None:
    """Every stream polls each second: N open studio tabs read the list once, not N times."""
    store = handles.asset_store()
    first = studio.SHARED_ROWS.get(store, "http://studio.test", max_age_s=60)
    assert studio.SHARED_ROWS.get(store, "http://studio.test", max_age_s=60) is first
    assert studio.SHARED_ROWS.get(store, "http://studio.test", max_age_s=0) is not first


def test_studio_pages_have_a_strict_csp(session: tuple[httpx.Client, str]) -> None:
    c, _ = session
    csp = c.get("/studio/uploads").headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe" not in csp
    assert "frame-ancestors 'none'" in csp
    assert c.get("/studio/static/app.js").headers["content-type"].startswith("text/javascript")
    assert c.get("/studio/static/..%2Fmain.py").status_code == 404
    assert c.get("/studio/nowhere").status_code == 404


def test_the_cue_check_flags_what_a_reviewer_should_fix(client: httpx.Client,
                                                        anon: httpx.Client) -> None:
    cues = [{"start": 0, "end": 2, "text": "Fine"},
            {"start": 1.5, "end": 2.5, "text": "Overlaps the first one"},
            {"start": 3, "end": 6, "text": "y" * 50}]
    resp = client.post("/v1/captions/check?language=en", json={"cues": cues})
    assert resp.status_code == 200, resp.text
    found = [(i["index"], i["kind"]) for i in resp.json()["issues"]]
    assert found == [(1, "reading_speed"), (1, "overlap"), (2, "line_length")]
    assert anon.post("/v1/captions/check", json={"cues": cues}).status_code == 401
    bad = client.post("/v1/captions/check", params={"language": "not a tag"}, json={"cues": cues})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_language"
