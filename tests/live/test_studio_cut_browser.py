"""The studio's cut buttons in Debian's Chromium: a producer cuts a channel on air to a live
stream from the live page and back to its queue from the channel page (a real nginx-rtmp, an
ffmpeg publisher, the live worker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from tests.conftest import Stack, upload, wait_for
from tests.live.conftest import Rtmp, create_stream
from tests.support.browser import chromium, require_chromium, screenshot_path
from tests.support.live import publish
from tests.support.media import make_clip
from tests.support.wait import wait_until

require_chromium()

pytestmark = pytest.mark.slow


@pytest.fixture
def studio(api_server: str, stack: Stack, tmp_path: Path) -> Iterator[tuple[Page, list[str]]]:
    """A page logged in to the studio, and the script errors it meets."""
    with chromium(tmp_path / "profile", viewport={"width": 1024, "height": 768},
                  has_touch=True) as context:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(f"{m.text} {m.location.get('url')}")
                if m.type == "error" else None)
        page.goto(f"{api_server}/studio")
        page.fill("#key", stack.api_key)
        page.click("button[type=submit]")
        page.wait_for_url(f"{api_server}/studio/messages", timeout=10_000)
        yield page, errors


def _cut(client: httpx.Client, channel_id: str) -> dict | None:
    cut: dict | None = client.get(f"/v1/channels/{channel_id}").json()["cut"]
    return cut


def test_cut_a_channel_to_a_live_stream_and_back_from_the_studio(
        studio: tuple[Page, list[str]], client: httpx.Client, api_server: str, worker: Path,
        media_dir: Path, rtmp: Rtmp, live_worker: Path, tmp_path: Path) -> None:
    page, errors = studio
    for other in client.get("/v1/live-streams").json()["items"]:
        if other["status"] != "ended":  # left by other modules: previews would 404
            client.delete(f"/v1/live-streams/{other['id']}")
    clip = make_clip(media_dir / "studio-cut-20s.mp4", seconds=20)
    asset_id = upload(client, clip, title="Opening talk", captions="none").json()["id"]
    assert wait_for(client, asset_id, timeout_s=240)["status"] == "ready"
    channel = client.post("/v1/channels", json={"name": "Cut stage", "window_s": 60,
                                                "slate_asset_id": asset_id}).json()
    cid = channel["id"]
    client.post(f"/v1/channels/{cid}/items", json={"asset_id": asset_id})
    assert client.post(f"/v1/channels/{cid}/start").status_code == 200
    stream = create_stream(client, title="Speaker from Lisbon")
    sid = str(stream["id"])
    publisher = publish(str(stream["ingest"]["rtmp"]), 90, tmp_path / "pub.log")  # type: ignore[index]
    try:
        wait_until(lambda: client.get(f"/live-streams/{sid}.m3u8").status_code == 200, 60, 0.3,
                   "the stream's first segment")
        page.goto(f"{api_server}/studio/live")
        card = page.locator(f"#streams li[data-id='{sid}']")
        card.locator("[data-role=cut-channel]").wait_for(timeout=15_000)
        card.get_by_label("Channel on air").select_option(cid)
        card.locator("[data-role=cut]").click()
        wait_until(lambda: (_cut(client, cid) or {}).get("live_stream_id") == sid, 10, 0.2,
                   "the channel cut to the stream")
        card.locator("[data-role=cut-end]").wait_for(timeout=10_000)
        assert "Cut stage shows this stream" in card.inner_text()
        page.screenshot(path=str(screenshot_path("studio-live-cut")), full_page=True)

        page.goto(f"{api_server}/studio/channels/{cid}")
        wait_until(lambda: page.locator("#now-title").inner_text()
                   == "Live: Speaker from Lisbon", 20, 0.2, "now: the live stream")
        assert "Live: “Speaker from Lisbon”" in page.locator("#cut-status").inner_text()
        page.click("#cut-end")
        wait_until(lambda: _cut(client, cid) is None or _cut(client, cid)["ends_at"], 10, 0.2,
                   "back to the queue")
        wait_until(lambda: page.locator("#now-title").inner_text() == "Opening talk", 30, 0.2,
                   "now: the queue again")
        assert page.locator("#cut-status").inner_text() == "Not cut to a live stream."
    finally:
        if publisher.poll() is None:
            publisher.terminate()
            publisher.wait(10)
        client.post(f"/v1/channels/{cid}/stop")
    assert not errors, errors
