"""`/watch/live-streams/{id}` in Debian's Chromium while a speaker is live: hls.js plays the
stream and shows the live captions' cues (the spoken words, on the player's clock through
X-TIMESTAMP-MAP), and the page's subtitle menu lists the track."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext

from tests.live.conftest import Rtmp, create_stream
from tests.support.browser import chromium as chromium_context
from tests.support.browser import require_chromium
from tests.support.live import publish
from tests.support.speech import bare, speech_track

require_chromium()

pytestmark = pytest.mark.slow
SENTENCES = [("Our next speaker joins us from the main stage in Berlin.", 3.0),
             ("Thank you all for watching this live broadcast today.", 10.0),
             ("Our next speaker joins us from the main stage in Berlin.", 17.0),
             ("Thank you all for watching this live broadcast today.", 24.0),
             ("Our next speaker joins us from the main stage in Berlin.", 31.0)]
SECONDS = 40
# The cue texts of the text tracks hls.js shows (it renders subtitles natively), and where the
# player is: a cue shown now must be about now.
SHOWN = """(() => {
  const video = document.getElementById('player');
  const cues = Array.from(video.textTracks).filter(t => t.mode === 'showing' && t.cues)
    .flatMap(t => Array.from(t.cues, c => [c.startTime, c.endTime, c.text]));
  return {now: video.currentTime, cues};
})()"""


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    profile = tmp_path_factory.mktemp("chromium-live-captions")
    with chromium_context(profile, viewport={"width": 1024, "height": 720}) as context:
        yield context


def test_the_viewer_page_shows_the_live_captions(
        chromium: BrowserContext, client: httpx.Client, anon: httpx.Client, rtmp: Rtmp,
        live_worker: Path, tmp_path: Path) -> None:
    speech, _placed = speech_track(tmp_path / "speech", SENTENCES, SECONDS)
    body = create_stream(client, reconnect_window_s=1)
    watch = str(body["playback"]["watch"])  # type: ignore[index]
    assert anon.get(watch.replace(str(body["id"]), "ls-0000000000000000")).status_code == 404
    publisher = None
    try:
        # opened before the stream's first segment: the page waits for its playlist
        assert anon.get(f"/live-streams/{body['id']}.m3u8").status_code == 404
        page = chromium.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        resp = page.goto(watch)
        assert resp is not None and resp.status == 200
        assert "script-src 'self' 'nonce-" in resp.headers["content-security-policy"]
        publisher = publish(str(body["ingest"]["rtmp"]), SECONDS,  # type: ignore[index]
                            tmp_path / "pub.log", speech=speech)
        page.wait_for_function("() => window.podiumPlayer && window.podiumPlayer.subtitleTracks"
                               ".length > 0", timeout=60_000, polling=300)
        said = ["speaker", "joins", "main", "stage", "berlin", "watching", "live", "broadcast"]
        # three of the words (not one: the first cue alone may hold only two of them)
        page.wait_for_function(
            f"""() => {{ const s = {SHOWN}; const words = {said!r};
              const heard = new Set(s.cues.flatMap(c => c[2].toLowerCase()
                .replace(/[^a-z ]+/g, ' ').split(/ +/)));
              return words.filter(w => heard.has(w)).length >= 3; }}""",
            timeout=60_000, polling=500)
        shown = page.evaluate(SHOWN)
        heard = bare(" ".join(text for _s, _e, text in shown["cues"]))
        assert sum(w in heard.split() for w in said) >= 3, shown
        # cues sit on the player's own clock: none lies far ahead of what it plays
        assert all(start < shown["now"] + 30 for start, _e, _t in shown["cues"]), shown
        menu = page.evaluate("Array.from(document.querySelectorAll('#subtitles option'), "
                             "o => o.textContent)")
        assert menu == ["Off", "English"], menu
        assert publisher.poll() is None, "the captions came only after the stream"
        assert "Waiting for the stream" not in page.inner_text("#status")
        assert page.evaluate("window.podiumErrors") == [], console
        page.close()
    finally:
        if publisher is not None and publisher.poll() is None:
            publisher.terminate()
            publisher.wait(10)
        client.delete(f"/v1/live-streams/{body['id']}")
