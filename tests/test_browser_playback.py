"""The viewer page in a real browser: Debian's Chromium plays `/watch/{id}` with hls.js.

Every rendition of the ladder is forced in turn and must decode at its own size while time
advances; the caption track is shown by default and its cues become active when the sentence is
spoken. Chromium is driven by PyPI's playwright (no browser download: the Debian binary).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError

from ingest.captions.files import parse_captions
from tests.conftest import Stack, upload, wait_for, wait_for_track
from tests.support.browser import chromium, require_chromium
from tests.support.media import make_clip
from tests.support.speech import Placed, bare, speech_clip

require_chromium()

pytestmark = pytest.mark.slow

SENTENCES = [
    ("Welcome to the annual meeting of our company.", 0.5),
    ("Today we will talk about the new product.", 4.5),
    ("Thank you all for listening to this message.", 8.5),
]
SPEECH_SECONDS = 12.0
CUE_SLACK_S = 1.0
"""A cue may become active this far from where its sentence was placed in the audio."""

# Polls every text track's active cues from before the page's own script runs, so no cue is
# missed while the test attaches; each cue is logged once, with the playhead when first seen.
CUE_LOGGER = """(() => {
window.podiumCueLog = [];
const seen = new Set();
setInterval(() => {
  const video = document.querySelector("video");
  if (!video) return;
  for (const track of video.textTracks) {
    for (const cue of Array.from(track.activeCues || [])) {
      const key = cue.startTime + "|" + cue.text;
      if (seen.has(key)) continue;
      seen.add(key);
      window.podiumCueLog.push({text: cue.text, start: cue.startTime, at: video.currentTime});
    }
  }
}, 20);
})();
"""
PLAYER_STATE = """() => {
  const v = document.querySelector("video");
  return {time: v.currentTime, paused: v.paused, ended: v.ended, ready: v.readyState,
          size: [v.videoWidth, v.videoHeight], error: v.error && v.error.message,
          level: window.podiumPlayer ? window.podiumPlayer.currentLevel : null,
          errors: window.podiumErrors, status: document.getElementById("status").textContent};
}"""

# Rewind into the first segment (its video starts a few frames after 0, after the B-frame
# delay, so 0 itself is a hole in the video buffer), then force the level and play.
FORCE_LEVEL = """async i => {
  const v = document.querySelector("video");
  v.pause();
  const seeked = new Promise(done => v.addEventListener("seeked", done, {once: true}));
  v.currentTime = 0.3;
  await seeked;
  window.podiumPlayer.currentLevel = i;
  v.play().catch(() => {});
}"""


@dataclass
class Uploads:
    ids: dict[str, str]
    placed: list[Placed]
    """Where each sentence of the speech clip was put in its audio."""


@pytest.fixture(scope="module")
def uploads(api_server: str, stack: Stack, worker: Path, media_dir: Path) -> Uploads:
    """Three public assets and a private one, uploaded at once: the worker processes them
    while the first tests run."""
    clips = {
        "small": make_clip(media_dir / "browser-640x360.mp4", width=640, height=360, seconds=4,
                           fps=30),
        "hd": make_clip(media_dir / "browser-1280x720.mp4", width=1280, height=720, seconds=4,
                        fps=30),
    }
    clips["speech"], placed = speech_clip(media_dir / "browser-speech.mp4", SENTENCES,
                                          SPEECH_SECONDS)
    ids = {}
    with httpx.Client(base_url=api_server, timeout=60,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as c:
        for name, clip in clips.items():
            resp = upload(c, clip, title=f"Browser <{name}> & \"quotes\"", language="en")
            assert resp.status_code == 202, resp.text
            ids[name] = resp.json()["id"]
        resp = upload(c, clips["small"], title="Private", visibility="private", captions="none")
        assert resp.status_code == 202, resp.text
        ids["private"] = resp.json()["id"]
    return Uploads(ids, placed)


def ready(client: httpx.Client, asset_id: str) -> dict[str, Any]:
    asset = wait_for(client, asset_id, timeout_s=300)
    assert asset["status"] == "ready", asset
    return asset


def wait_for_ready_track(client: httpx.Client, asset_id: str, lang: str) -> None:
    track = wait_for_track(client, asset_id, lang, timeout_s=300)
    assert track["status"] == "ready", track


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Debian's Chromium, headless, with a fresh profile of its own."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    with chromium(profile, viewport={"width": 1024, "height": 720}) as context:
        context.add_init_script(CUE_LOGGER)
        yield context


@dataclass
class Viewer:
    """One tab on `/watch/{id}` and what its console said."""

    page: Page
    console: list[str] = field(default_factory=list)

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def wait(self, predicate: str, arg: Any, timeout_s: float, what: str) -> None:
        """Wait for a JS predicate; on timeout fail with the player's state and the console."""
        try:
            self.page.wait_for_function(predicate, arg=arg, timeout=timeout_s * 1000, polling=50)
        except PlaywrightError as exc:
            raise AssertionError(f"waiting for {what}: {self.js(PLAYER_STATE)}; "
                                 f"console: {self.console[-20:]}") from exc

    def assert_plays(self) -> None:
        self.wait("() => document.querySelector('video').currentTime > 1", None, 20,
                  "playback to pass 1 s")
        assert self.js("window.podiumErrors") == [], self.js(PLAYER_STATE)
        assert not [m for m in self.console if "Content Security Policy" in m], self.console

    def play_level(self, index: int, width: int, height: int) -> None:
        """Rewind, force one level (hls.js flushes the buffer), play, wait for its frames."""
        self.js(FORCE_LEVEL, index)
        self.wait("""([w, h]) => { const v = document.querySelector("video");
                                   return v.videoWidth === w && v.videoHeight === h; }""",
                  [width, height], 20, f"level {index} ({width}x{height}) to be shown")
        start = self.js("document.querySelector('video').currentTime")
        self.wait("t => document.querySelector('video').currentTime > t + 0.5", start, 20,
                  f"level {index} ({width}x{height}) to play on")


@pytest.fixture
def open_watch(browser: BrowserContext, api_server: str) -> Iterator[Callable[[str], Viewer]]:
    """Opens `/watch/{id}` in a new tab, once hls.js knows the levels; tabs close after."""
    viewers: list[Viewer] = []

    def open_page(asset_id: str) -> Viewer:
        viewer = Viewer(browser.new_page())
        viewers.append(viewer)
        viewer.page.on("console", lambda msg: viewer.console.append(f"{msg.type}: {msg.text}"))
        resp = viewer.page.goto(f"{api_server}/watch/{asset_id}")
        assert resp is not None and resp.status == 200
        assert "media-src 'self' blob:" in resp.headers["content-security-policy"]
        viewer.wait("() => window.podiumPlayer && window.podiumPlayer.levels.length > 0",
                    None, 20, "hls.js to parse the multivariant playlist")
        return viewer

    yield open_page
    for viewer in viewers:
        viewer.page.close()


@pytest.mark.parametrize(("name", "expected"), [
    ("small", [(640, 360)]),
    ("hd", [(1280, 720), (854, 480), (640, 360)]),
])
def test_every_rendition_plays_in_chromium(client: httpx.Client, uploads: Uploads,
                                           open_watch: Callable[[str], Viewer], name: str,
                                           expected: list[tuple[int, int]],
                                           tmp_path: Path) -> None:
    asset = ready(client, uploads.ids[name])
    assert [(r["width"], r["height"]) for r in asset["renditions"]] == expected
    viewer = open_watch(asset["id"])
    assert viewer.page.title() == f'Browser <{name}> & "quotes" · Podium'  # escaped, decoded
    viewer.assert_plays()
    levels = viewer.js("window.podiumPlayer.levels.map(l => [l.width, l.height])")
    assert sorted(map(tuple, levels)) == sorted(expected)
    for index, (width, height) in enumerate(levels):
        viewer.play_level(index, width, height)
    assert viewer.js("window.podiumErrors") == []
    viewer.page.screenshot(path=tmp_path / f"watch-{name}.png")


def test_private_asset_plays_with_its_token(client: httpx.Client, anon: httpx.Client,
                                            uploads: Uploads,
                                            open_watch: Callable[[str], Viewer]) -> None:
    asset_id = uploads.ids["private"]
    ready(client, asset_id)
    refused = anon.get(f"/watch/{asset_id}")
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "playback_token_required"
    token = client.post(f"/v1/assets/{asset_id}/playback-tokens").json()["token"]
    viewer = open_watch(f"{asset_id}?token={quote(token)}")
    assert viewer.js("document.querySelector('video').dataset.src") == (
        f"/play/{asset_id}.m3u8?token={quote(token, safe='')}")
    viewer.assert_plays()


def test_captions_show_when_spoken(client: httpx.Client, uploads: Uploads,
                                   open_watch: Callable[[str], Viewer], tmp_path: Path) -> None:
    placed = uploads.placed
    ready(client, uploads.ids["speech"])
    wait_for_ready_track(client, uploads.ids["speech"], "en")
    viewer = open_watch(uploads.ids["speech"])
    viewer.wait("""() => Array.from(document.querySelector("video").textTracks)
                         .some(t => t.mode === "showing")""", None, 20,
                "the first subtitle track to be shown")
    assert viewer.js("window.podiumPlayer.subtitleTrack") == 0
    viewer.assert_plays()
    viewer.wait("t => document.querySelector('video').currentTime > t", placed[-1].start + 1.5,
                SPEECH_SECONDS + 10, "playback past the last sentence")
    viewer.page.screenshot(path=tmp_path / "watch-captions.png")
    log: list[dict[str, Any]] = viewer.js("window.podiumCueLog")
    track = parse_captions(client.get(f"/v1/assets/{uploads.ids['speech']}/captions/en.vtt")
                           .content, 1_000_000)
    report = []
    for sentence in placed:
        own = set(bare(sentence.text).split()) - {
            w for other in placed if other is not sentence for w in bare(other.text).split()}
        shown = next((c for c in log if own & set(bare(c["text"]).split())), None)
        assert shown is not None, (sentence, log)
        stored = next(c for c in track if own & set(bare(c.text).split()))
        # `at`: the playhead when the cue was first seen active (active cues polled every 20 ms)
        report.append((sentence.start, stored.start, round(shown["start"], 3),
                       round(shown["at"], 3)))
        # hls.js places cues by X-TIMESTAMP-MAP, which names the first video PTS: measured
        # +0.067 s on the player's timeline (two B-frames at 30 fps after the audio's start)
        assert abs(shown["start"] - stored.start) <= 0.1, (stored, shown)
        assert abs(shown["at"] - sentence.start) <= CUE_SLACK_S, (sentence, shown, log)
    print(f"(placed, stored cue, player cue, shown at): {report}")  # seen with -rP
    assert viewer.js("window.podiumErrors") == []
