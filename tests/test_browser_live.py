"""`/watch/live/{id}` in Debian's Chromium: hls.js plays a channel across an item boundary
(a discontinuity, a change of resolution) without a fatal error, with captions: the first item's
cues are shown, the second item (no captions) is covered by empty cues, and the page's subtitle
menu lists the channel's track."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext

from tests.conftest import Stack, upload, wait_for
from tests.support.browser import chromium as chromium_context
from tests.support.browser import require_chromium
from tests.support.media import make_clip

require_chromium()

pytestmark = pytest.mark.slow
# Records the continuity counter (EXT-X-DISCONTINUITY-SEQUENCE + tags) of each fragment played.
WATCH_CC = """(() => {
  window.podiumCC = [];
  const hook = () => {
    if (!window.podiumPlayer) { return setTimeout(hook, 20); }
    window.podiumPlayer.on("hlsFragChanged", (_e, data) => window.podiumCC.push(data.frag.cc));
  };
  hook();
})();"""


CUES = """WEBVTT

00:00:00.500 --> 00:00:05.500
Welcome to the keynote
"""
# The cue texts of the text tracks hls.js shows (it renders subtitles natively).
SHOWN_CUES = """Array.from(document.getElementById('player').textTracks)
  .filter(t => t.mode === 'showing' && t.cues)
  .flatMap(t => Array.from(t.cues, c => c.text))"""


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    profile = tmp_path_factory.mktemp("chromium-live")
    with chromium_context(profile, viewport={"width": 1024, "height": 720}) as context:
        yield context


def test_live_page_plays_across_an_item_boundary(chromium: BrowserContext, api_server: str,
                                                  stack: Stack, worker: Path,
                                                  media_dir: Path) -> None:
    clips = [make_clip(media_dir / "live-640x360.mp4", width=640, height=360, seconds=6),
             make_clip(media_dir / "live-320x180.mp4", width=320, height=180, seconds=8)]
    with httpx.Client(base_url=api_server, timeout=60,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as c:
        ids = [upload(c, clip, title=clip.stem, captions="none").json()["id"] for clip in clips]
        assert all(wait_for(c, i, timeout_s=240)["status"] == "ready" for i in ids)
        track = c.put(f"/v1/assets/{ids[0]}/captions/en", content=CUES.encode(),
                      headers={"Content-Type": "text/plain"})
        assert track.status_code == 200, track.text
        cid = c.post("/v1/channels", json={"name": "Browser stage", "window_s": 30,
                                           "slate_asset_id": ids[1]}).json()["id"]
        for asset_id in ids:
            c.post(f"/v1/channels/{cid}/items", json={"asset_id": asset_id})
        assert c.post(f"/v1/channels/{cid}/start").status_code == 200
    page = chromium.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.add_init_script(WATCH_CC)
    resp = page.goto(f"{api_server}/watch/live/{cid}")
    assert resp is not None and resp.status == 200
    assert "script-src 'self' 'nonce-" in resp.headers["content-security-policy"]
    # the first item lasts 6 s: playing 9 s of stream crosses into the second one
    page.wait_for_function("() => document.getElementById('player').currentTime > 9",
                           timeout=90_000, polling=200)
    assert page.evaluate("window.podiumErrors") == [], console
    played = page.evaluate("window.podiumCC")
    assert max(played) > min(played), played  # a fragment after the discontinuity played
    menu = page.evaluate("Array.from(document.querySelectorAll('#subtitles option'), "
                         "o => [o.value, o.textContent])")
    assert len(menu) == 2 and menu[0][0] == "-1" and menu[1][0] == "0", menu
    assert page.evaluate("document.getElementById('subtitles').value") == "0"
    assert page.evaluate("window.podiumPlayer.subtitleTrack") == 0
    shown = page.evaluate(SHOWN_CUES)
    assert any("keynote" in text for text in shown), shown
    assert page.evaluate("document.getElementById('player').videoWidth") in (320, 640)
    page.close()
