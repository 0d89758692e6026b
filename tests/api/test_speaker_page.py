"""The speaker's page and its status endpoint through the real API: rules shown, values
escaped, a strict CSP, scripts served from npm packages, status following the asset."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.api.test_tus import new_slot
from tests.support.wait import wait_until


def test_the_page_shows_the_slot_and_its_rules_under_a_strict_csp(client: httpx.Client) -> None:
    slot = new_slot(client, max_duration_s=90)
    resp = httpx.get(slot["url"])
    assert resp.status_code == 200
    html = resp.text
    assert "Talk" in html and "For Grace" in html
    assert "1.5 minutes" in html and "Send it before" in html
    csp = resp.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for script in ("/static/tus.min.js", "/static/speaker.js", "/static/hls.min.js"):
        assert f'src="{script}"' in html
        got = httpx.get(slot["url"].split("/u/")[0] + script)
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/javascript")


def test_slot_text_is_escaped(client: httpx.Client) -> None:
    slot = new_slot(client, title="<script>alert(1)</script>", speaker='"><img src=x>')
    html = httpx.get(slot["url"]).text
    assert "<script>alert(1)" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_wrong_token_gets_a_plain_error_page(client: httpx.Client) -> None:
    slot = new_slot(client)
    resp = httpx.get(slot["url"].split("?")[0] + "?token=1.nope")
    assert resp.status_code == 403
    assert "not valid" in resp.text and resp.headers["content-type"].startswith("text/html")


def test_status_follows_the_slot_then_its_asset(client: httpx.Client) -> None:
    slot = new_slot(client)
    status_url = slot["url"].replace("?token=", "/status?token=")
    body = httpx.get(status_url).json()
    assert (body["status"], body["asset"], body["can_replace"]) == ("waiting", None, False)
    put = httpx.put(slot["put_url"], content=b"\x00\x00\x00\x18ftypisom" + b"\0" * 5000)
    assert put.status_code == 201
    body = httpx.get(status_url).json()
    assert body["status"] == "asset_created"
    assert body["asset"]["id"] == put.json()["asset_id"]
    assert body["asset"]["status"] in {"waiting", "preparing", "errored"}
    assert body["asset"]["version"] == 0
    assert "url" not in body and "tus_endpoint" not in body


def test_a_new_version_is_offered_only_while_the_link_takes_one(client: httpx.Client,
                                                                worker: Path) -> None:
    slot = new_slot(client)
    status_url = slot["url"].replace("?token=", "/status?token=")
    put = httpx.put(slot["put_url"], content=b"\x00\x00\x00\x18ftypisom" + b"\0" * 5000)
    assert put.status_code == 201
    # not a video: its processing ends errored, and then the link takes a new version
    errored = wait_until(lambda: (b := httpx.get(status_url).json())["asset"]["status"]
                         == "errored" and b, timeout=60, what="the asset errored")
    assert errored["can_replace"] is True and errored["asset"]["hls"] is None
    assert client.post(f"/v1/uploads/{slot['id']}/lock").status_code == 200
    locked = httpx.get(status_url).json()
    assert (locked["locked"], locked["can_replace"]) == (True, False)
