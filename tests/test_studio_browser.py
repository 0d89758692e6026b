"""The producers' studio in Debian's Chromium (through playwright), on a tablet-sized screen:
log in with the key, make an upload link, watch the speaker's upload go to ready with its
progress pushed by server-sent events (no polling of the API by the page), open it, delete
it. Each page is photographed into docs/ for the README."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from tests.conftest import Stack, upload, wait_for
from tests.support.browser import chromium, require_chromium, screenshot_path
from tests.support.media import make_clip
from tests.support.wait import wait_until

require_chromium()

pytestmark = pytest.mark.slow
TABLET = {"width": 1024, "height": 768}
SEEN = """() => window.__seen || []"""
RECORD_STAGES = """() => {
  window.__seen = [];
  const note = () => {
    for (const li of document.querySelectorAll('#assets .stages li.current'))
      window.__seen.push(li.textContent);
    for (const p of document.querySelectorAll('#assets progress'))
      window.__seen.push('progress ' + p.value);
  };
  new MutationObserver(note).observe(document.getElementById('assets'),
                                     {childList: true, subtree: true});
}"""


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(screenshot_path(f"studio-{name}")), full_page=True)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    profile = tmp_path_factory.mktemp("chromium-studio")
    with chromium(profile, viewport=TABLET, has_touch=True) as context:
        yield context


@pytest.fixture(scope="module")
def page_errors() -> list[str]:
    """The studio page's script errors and console errors (a test expecting one removes it)."""
    return []


@pytest.fixture(scope="module")
def studio(browser: BrowserContext, api_server: str, stack: Stack,
           page_errors: list[str]) -> Iterator[Page]:
    """A page logged in to the studio, whose script errors and CSP reports fail the test."""
    page = browser.new_page()
    errors = page_errors
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{api_server}/studio")
    shot(page, "login")
    page.fill("#key", "not-the-key")
    page.click("button[type=submit]")
    page.get_by_role("alert").wait_for(timeout=10_000)
    assert "not valid" in page.get_by_role("alert").inner_text()
    errors.clear()  # the 403 of the wrong key shows as a console error
    page.fill("#key", stack.api_key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{api_server}/studio/messages", timeout=10_000)
    yield page
    assert not errors, errors


def test_the_session_is_an_http_only_strict_cookie_not_the_key(
        studio: Page, browser: BrowserContext, stack: Stack) -> None:
    [cookie] = [c for c in browser.cookies() if c["name"] == "podium_studio"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert stack.api_key not in cookie["value"]
    stored = studio.evaluate("() => JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert stack.api_key not in stored and "podium_studio" not in studio.evaluate(
        "() => document.cookie")


def test_upload_link_to_ready_with_pushed_progress_then_delete(
        studio: Page, client: httpx.Client, worker: Path, media_dir: Path,
        api_server: str) -> None:
    page = studio
    page.goto(f"{api_server}/studio/uploads")
    page.fill("#slot-title", "Keynote from Lyon")
    page.fill("#slot-speaker", "Ada")
    page.fill("#slot-max", "60")
    page.click("#new-slot button[type=submit]")
    row = page.locator("#slots li", has_text="Keynote from Lyon").first
    row.wait_for(timeout=10_000)
    link = row.locator("[data-role=link]").inner_text()
    assert "/u/" in link and "token=" in link
    shot(page, "uploads")
    slot_id = row.get_attribute("data-id")
    slot = client.get(f"/v1/uploads/{slot_id}").json()
    assert slot["speaker"] == "Ada" and slot["max_duration_s"] == 60
    for title, action, check in (("Locked talk", "Lock", lambda s: s["locked"]),
                                 ("Cancelled talk", "Cancel link",
                                  lambda s: s["status"] == "cancelled")):
        page.fill("#slot-title", title)
        page.click("#new-slot button[type=submit]")
        other = page.locator("#slots li", has_text=title).first
        other.get_by_role("button", name=action).click()
        other_id = other.get_attribute("data-id")
        wait_until(lambda i=other_id, c=check: c(client.get(f"/v1/uploads/{i}").json()),
                   timeout=10, what=f"{title}: {action}")
    wait_until(lambda: "cancelled" in page.locator("#slots li", has_text="Cancelled talk")
               .first.inner_text(), timeout=10, what="the cancelled link shown")

    page.goto(f"{api_server}/studio/messages")
    page.locator("#assets[aria-busy=false]").wait_for(state="attached", timeout=10_000)
    page.evaluate(RECORD_STAGES)
    polled: list[str] = []
    page.on("request", lambda r: polled.append(r.url)
            if "/v1/assets" in r.url and not r.url.endswith("/poster.jpg") else None)
    clip = make_clip(media_dir / "studio-640x360.mp4", width=640, height=360, seconds=4)
    with clip.open("rb") as fh:  # the speaker sends the file through the link
        assert httpx.put(slot["put_url"], content=fh, timeout=60).status_code == 201
    asset_id = client.get(f"/v1/uploads/{slot_id}").json()["asset_id"]
    item = page.locator(f"#assets li[data-id='{asset_id}']")
    item.wait_for(timeout=20_000)
    wait_until(lambda: item.get_attribute("data-status") == "ready", timeout=180,
               interval=0.3, what="the row turning ready")
    seen = page.evaluate(SEEN)
    assert any(s.startswith("transcode") for s in seen), seen
    assert any(s.startswith("progress") for s in seen), seen
    assert not polled, f"the list polled the API: {polled[:3]}"
    poster = item.locator("img")
    wait_until(lambda: poster.evaluate("img => img.complete && img.naturalWidth") == 320,
               timeout=20, what="the poster frame shown")
    assert "Ada" in item.inner_text() and "0:04" in item.inner_text()
    assert slot_id in item.inner_text()
    page.fill("#search", "lyon")
    assert page.locator("#assets li").count() >= 1
    page.select_option("#status", "errored")
    wait_until(lambda: page.locator(f"#assets li[data-id='{asset_id}']").count() == 0,
               timeout=5, what="the filter hiding the ready message")
    page.select_option("#status", "all")
    shot(page, "messages")

    item.locator("h3 a").click()
    page.wait_for_url(f"**/studio/messages/{asset_id}")
    wait_until(lambda: page.locator("#quality option").count() >= 2, timeout=30,
               what="the quality menu filled from the playlist")
    wait_until(lambda: page.evaluate("() => document.getElementById('preview').readyState") >= 2,
               timeout=30, what="the preview loaded")
    facts = page.locator("table.facts-table tbody tr")
    assert facts.count() >= 1 and "avc1." in facts.first.inner_text()
    shot(page, "message")
    page.click("#delete")
    page.locator("#confirm-delete").wait_for(state="visible")
    page.click("#confirm-delete-button")
    page.wait_for_url(f"{api_server}/studio/messages", timeout=10_000)
    assert client.get(f"/v1/assets/{asset_id}").status_code == 404


RECORD_UPLOAD = """() => {
  window.__upload = [];
  const status = document.getElementById('upload-status');
  new MutationObserver(() => window.__upload.push(status.textContent))
    .observe(status, {childList: true, characterData: true, subtree: true});
}"""


def test_direct_upload_with_progress_appears_in_the_list(
        studio: Page, client: httpx.Client, worker: Path, media_dir: Path,
        api_server: str) -> None:
    page = studio
    page.goto(f"{api_server}/studio/messages")
    page.locator("#assets[aria-busy=false]").wait_for(state="attached", timeout=10_000)
    page.click("#upload-panel summary")
    page.evaluate(RECORD_UPLOAD)
    clip = make_clip(media_dir / "studio-direct.mp4", seconds=2)
    page.set_input_files("#up-file", str(clip))
    page.fill("#up-title", "Closing words")
    page.fill("#up-speaker", "Lin")
    page.fill("#up-language", "fr-CA")
    page.select_option("#up-captions", "none")
    page.select_option("#up-visibility", "private")
    page.click("#upload-submit")
    status = page.locator("#upload-status")
    wait_until(lambda: "uploaded" in status.inner_text(), timeout=30, what="the upload done")
    seen = page.evaluate("() => window.__upload")
    assert any(s.startswith("Uploading studio-direct.mp4: ") and "%" in s for s in seen), seen
    assert page.locator("#upload-progress").evaluate("p => p.value") == 100
    asset_id = status.get_attribute("data-asset")
    assert asset_id
    asset = client.get(f"/v1/assets/{asset_id}").json()
    assert (asset["title"], asset["speaker"], asset["language"], asset["visibility"],
            asset["captions"]) == ("Closing words", "Lin", "fr-CA", "private", []), asset
    assert page.locator("#up-title").input_value() == ""  # the form is ready for the next one
    item = page.locator(f"#assets li[data-id='{asset_id}']")
    item.wait_for(timeout=10_000)
    assert "direct upload" in item.inner_text() and "Lin" in item.inner_text()
    wait_until(lambda: item.get_attribute("data-status") == "ready", timeout=120, interval=0.3,
               what="the directly uploaded message turning ready in the pushed list")

    item.locator("h3 a").click()  # private: the viewer link needs a playback token
    page.wait_for_url(f"**/studio/messages/{asset_id}")
    assert page.locator("#viewer-link").inner_text() == ""
    page.click("#viewer-token")
    wait_until(lambda: "?token=" in page.locator("#viewer-link").inner_text(), timeout=10,
               what="a viewer link with a token")
    viewer_link = page.locator("#viewer-link").inner_text()
    assert viewer_link.startswith(f"{api_server}/watch/{asset_id}?token=")
    assert httpx.get(viewer_link, timeout=10).status_code == 200
    assert httpx.get(viewer_link.split("?")[0], timeout=10).status_code in (401, 403, 404)


VTT = """WEBVTT

00:00.000 --> 00:01.000
Hello and welcome

00:01.000 --> 00:01.900
This line is far too long to read in under a second
"""


def ready_asset(client: httpx.Client, clip: Path, title: str) -> str:
    asset_id: str = upload(client, clip, title=title, captions="none").json()["id"]
    assert wait_for(client, asset_id, timeout_s=180)["status"] == "ready"
    return asset_id


def test_fix_a_caption_cue_and_approve(studio: Page, client: httpx.Client, worker: Path,
                                       media_dir: Path, api_server: str, tmp_path: Path,
                                       page_errors: list[str]) -> None:
    page = studio
    asset_id = ready_asset(client, make_clip(media_dir / "studio-cap.mp4", seconds=2),
                           "Captioned talk")
    page.goto(f"{api_server}/studio/captions/{asset_id}")
    page.locator("#caption-file").wait_for(state="attached", timeout=10_000)
    vtt = tmp_path / "talk.vtt"
    vtt.write_text(VTT)
    page.set_input_files("#caption-file", str(vtt))
    wait_until(lambda: page.locator("#cues li.cue").count() == 2, timeout=20,
               what="the uploaded cues in the editor")
    wait_until(lambda: page.locator("#cues li.flagged").count() == 1, timeout=10,
               what="the check flagging the second cue")
    kinds = page.locator("#cues li.flagged .issues li").evaluate_all(
        "els => els.map(e => e.dataset.kind)")
    assert set(kinds) == {"reading_speed", "line_length"}, kinds
    shot(page, "captions")
    wait_until(lambda: page.evaluate("() => document.getElementById('preview').readyState") >= 1,
               timeout=30, what="the player's metadata")
    page.locator("#cues li[data-index='1']").click(position={"x": 4, "y": 4})
    wait_until(lambda: abs(page.evaluate(
        "() => document.getElementById('preview').currentTime") - 1.0) < 0.2,
        timeout=5, what="a click on the cue seeking to it")
    page.fill("#cue-1-text", "Enjoy the talk")
    page.fill("#cue-1-end", "2.000")
    wait_until(lambda: page.locator("#cues li.flagged").count() == 0, timeout=10,
               what="the fixed cue no longer flagged")
    page.click("#approve")
    wait_until(lambda: "approved" in page.locator("#review").inner_text(), timeout=15,
               what="the track approved")
    track = client.get(f"/v1/assets/{asset_id}/captions/en").json()
    assert track["review"] == "approved"
    assert [(c["text"], c["end"]) for c in track["cues"]][1] == ("Enjoy the talk", 2.0)
    page.fill("#glossary", "Lyon\nAda Lovelace")
    page.click("#glossary-form button[type=submit]")
    wait_until(lambda: "Ada Lovelace" in client.get("/v1/glossary").json()["terms"], timeout=10,
               what="the glossary saved")
    vtt_text = page.evaluate(f"() => fetch('/v1/assets/{asset_id}/captions/en.vtt')"
                             ".then(r => r.text())")
    assert "Enjoy the talk" in vtt_text
    tracks_translate_and_regenerate(page, client, asset_id, tmp_path, page_errors)


FRENCH = """1
00:00:00,000 --> 00:00:01,000
Bonjour et bienvenue

2
00:00:01,000 --> 00:00:02,000
Bon visionnage
"""


def track_cell(page: Page, lang: str, role: str) -> str:
    return page.locator(f"#tracks tr[data-lang='{lang}'] [data-role={role}]").inner_text()


def tracks_translate_and_regenerate(page: Page, client: httpx.Client, asset_id: str,
                                    tmp_path: Path, page_errors: list[str]) -> None:
    """The track picker, a translation through a template, needs_review when the source's times
    change, deleting a track, and speech recognition run again from the page."""
    wait_until(lambda: track_cell(page, "en", "review") == "approved", timeout=10,
               what="the track list showing the approval")
    page.select_option("#tr-format", "xliff")
    xliff = page.evaluate("() => fetch(document.getElementById('tr-template').href)"
                          ".then(r => r.text())")
    assert "<source>Enjoy the talk</source>" in xliff, xliff[:300]
    page.fill("#tr-lang", "de")  # no machine translation model in the tests: explained
    page.click("#mt-translate")
    wait_until(lambda: "use the template" in page.locator("#toast").inner_text(), timeout=10,
               what="machine translation explained as unavailable")
    assert page.locator("#toast.bad").count() == 1
    assert page.locator("#tracks tr[data-lang='de']").count() == 0
    page_errors[:] = [e for e in page_errors if "409" not in e]  # the refused request's log
    page.fill("#tr-lang", "fr")
    srt = tmp_path / "talk.fr.srt"
    srt.write_text(FRENCH)
    page.set_input_files("#tr-file", str(srt))
    wait_until(lambda: page.locator("#tracks tr[data-lang='fr']").count() == 1, timeout=15,
               what="the translation listed")
    fr = next(t for t in client.get(f"/v1/assets/{asset_id}").json()["captions"]
              if t["language"] == "fr")
    assert fr["translation_of"] == "en" and fr["review"] == "edited", fr
    assert "en" in page.locator("#tracks tr[data-lang='fr']").inner_text()

    page.fill("#cue-0-end", "0.900")  # the source's times change: the translation needs review
    page.click("#save")
    wait_until(lambda: track_cell(page, "fr", "review") == "needs review", timeout=15,
               what="the translation marked needs review")
    page.locator("#tracks tr[data-lang='fr'] a").click()
    page.wait_for_url("**?lang=fr", timeout=10_000)
    wait_until(lambda: page.locator("#cues li.cue").count() == 2, timeout=10,
               what="the French cues in the editor")
    assert page.locator("#cue-0-text").input_value() == "Bonjour et bienvenue"
    assert page.locator("#needs-review").is_visible()
    page.click("#approve")
    wait_until(lambda: not page.locator("#needs-review").is_visible(), timeout=10,
               what="needs review cleared by the approval")
    wait_until(lambda: track_cell(page, "fr", "review") == "approved", timeout=10,
               what="the French track approved")

    row = page.locator("#tracks tr[data-lang='fr']")
    row.locator("[data-role=delete-track]").click()
    row.locator("[data-role=confirm-delete-track]").click()
    page.wait_for_url(f"**/studio/captions/{asset_id}", timeout=10_000)
    assert [t["language"] for t in client.get(f"/v1/assets/{asset_id}").json()["captions"]] \
        == ["en"]
    page.locator("#tracks tr[data-lang='en']").wait_for(timeout=10_000)
    assert page.locator("#tracks tr[data-lang='fr']").count() == 0

    page.click("[data-role=generate]")
    page.click("[data-role=confirm-generate]")
    def recognised() -> bool:  # the uploaded track stays listed (preparing) until the job ends
        [track] = client.get(f"/v1/assets/{asset_id}").json()["captions"]
        return bool(track["source"] == "asr" and track["status"] != "preparing")
    wait_until(recognised, timeout=120, interval=0.5, what="speech recognition run again")
    [en] = client.get(f"/v1/assets/{asset_id}").json()["captions"]
    wait_until(lambda: track_cell(page, "en", "status").startswith(
        "ready" if en["status"] == "ready" else "failed"), timeout=10,
        what="the page following speech recognition to its end")
    assert page.locator("#tracks tr[data-lang='en'] td").nth(1).inner_text() == "asr"


def run_order(client: httpx.Client, channel_id: str) -> list[str]:
    return [i["title"] for i in client.get(f"/v1/channels/{channel_id}").json()["items"]]


def test_build_reorder_and_start_a_channel(studio: Page, client: httpx.Client, worker: Path,
                                           media_dir: Path, api_server: str) -> None:
    page = studio
    opening = ready_asset(client, make_clip(media_dir / "studio-ch-a.mp4", seconds=5), "Opening")
    closing = ready_asset(client, make_clip(media_dir / "studio-ch-b.mp4", seconds=5), "Closing")
    page.goto(f"{api_server}/studio/channels")
    page.locator(f"#ch-slate option[value='{closing}']").wait_for(state="attached")
    page.fill("#ch-name", "Main stage")
    page.select_option("#ch-slate", closing)
    page.select_option("#ch-visibility", "private")
    page.fill("#ch-languages", "en, fr")
    page.click("#new-channel button[type=submit]")
    page.wait_for_url(f"{api_server}/studio/channels/ch-*", timeout=10_000)
    channel_id = page.url.rsplit("/", 1)[1]
    created = client.get(f"/v1/channels/{channel_id}").json()
    assert (created["visibility"], created["languages"]) == ("private", ["en", "fr"]), created
    assert page.locator("#viewer-link").inner_text() == ""
    page.click("#viewer-token")
    wait_until(lambda: "?token=" in page.locator("#viewer-link").inner_text(), timeout=10,
               what="a viewer link with a token for the private channel")
    assert page.locator("#viewer-link").inner_text().startswith(
        f"{api_server}/watch/live/{channel_id}?token=")
    for asset_id, count in ((opening, 1), (closing, 2)):
        page.select_option("#add-asset", asset_id)
        page.click("#add-item button[type=submit]")
        wait_until(lambda n=count: page.locator("#run li").count() == n, timeout=10,
                   what=f"{count} items in the run of show")
    assert "not approved" in page.locator("#caption-warning").inner_text()
    assert page.locator("#run [data-role=caption-warning]").count() == 2

    page.locator("#run li").nth(1).focus()
    page.keyboard.press("Alt+ArrowUp")
    wait_until(lambda: run_order(client, channel_id) == ["Closing", "Opening"], timeout=10,
               what="the keyboard move")
    wait_until(lambda: page.locator("#run li .item-title").first.inner_text() == "Closing",
               timeout=5, what="the list redrawn")
    assert page.evaluate("() => document.activeElement.dataset.item") is not None
    page.drag_and_drop("#run li:nth-child(2)", "#run li:nth-child(1)")
    wait_until(lambda: run_order(client, channel_id) == ["Opening", "Closing"], timeout=10,
               what="the drag and drop move")

    page.click("#start")
    wait_until(lambda: page.locator("#state").inner_text() == "on air", timeout=10,
               what="the channel on air")
    wait_until(lambda: page.locator("#now-title").inner_text() == "Opening", timeout=10,
               what="now: the first item")
    assert page.locator("#next-title").inner_text() == "Closing"
    assert page.locator("#countdown").inner_text().startswith("next in 0:0")
    wait_until(lambda: page.evaluate(
        "() => document.getElementById('live-preview').readyState") >= 2,
        timeout=30, what="the live preview playing")
    shot(page, "channel")
    wait_until(lambda: page.locator("#now-title").inner_text() == "Closing", timeout=30,
               interval=0.2, what="now and next changing at the boundary")
    assert page.locator("#next-title").inner_text() == "End of queue: slate"
    assert page.locator("#slate-now").inner_text() == "Now: Closing"
    page.select_option("#slate-asset", opening)
    page.click("#slate-form button[type=submit]")
    wait_until(lambda: client.get(f"/v1/channels/{channel_id}").json()["slate_asset_id"]
               == opening, timeout=10, what="the slate changed")
    wait_until(lambda: page.locator("#slate-now").inner_text() == "Now: Opening", timeout=5,
               what="the new slate shown")
    wait_until(lambda: any(e["title"] == "Opening" for e in client.get(
        f"/v1/channels/{channel_id}/as-run").json()["entries"]), timeout=20,
        what="the as-run log recording the first item")
    page.click("#as-run-refresh")
    wait_until(lambda: "Opening" in page.locator("#as-run tbody").inner_text(), timeout=5,
               what="the as-run log shown")
    page.click("#stop")
    page.goto(f"{api_server}/studio/channels")
    page.locator(f"#channels li[data-id='{channel_id}']").wait_for(timeout=10_000)
    shot(page, "channels")
    page.goto(f"{api_server}/studio/channels/{channel_id}")
    page.click("[data-role=delete-channel]")
    page.click("[data-role=confirm-delete-channel]")
    page.wait_for_url(f"{api_server}/studio/channels", timeout=10_000)
    assert client.get(f"/v1/channels/{channel_id}").status_code == 404


def test_create_a_live_stream_show_its_key_and_end_it(studio: Page, client: httpx.Client,
                                                      api_server: str) -> None:
    page = studio
    # streams other test modules left behind (their RTMP server is gone, so they never started
    # playing) would be previewed too, and their playlists answer 404 live_stream_not_started
    for other in client.get("/v1/live-streams").json()["items"]:
        if other["status"] != "ended":
            assert client.delete(f"/v1/live-streams/{other['id']}").status_code == 200
    page.goto(f"{api_server}/studio/live")
    page.fill("#ls-title", "Panel from Berlin")
    page.fill("#ls-speaker", "Grace")
    page.click("#new-stream button[type=submit]")
    card = page.locator("#streams li", has_text="Panel from Berlin").first
    card.wait_for(timeout=10_000)
    stream = client.get(f"/v1/live-streams/{card.get_attribute('data-id')}").json()
    assert card.locator("[data-role=status]").inner_text() == "idle"
    key = card.locator("[data-role=key]")
    assert not key.is_visible()  # the key shows on demand only
    card.get_by_role("button", name="Show the stream key").click()
    assert key.inner_text() == stream["stream_key"]
    assert card.locator("[data-role=rtmp]").inner_text() == stream["ingest"]["rtmp"]
    assert stream["ingest"]["rtmp"].startswith(card.locator("[data-role=server]").inner_text())
    assert card.locator("[data-role=watch]").get_attribute("href") == stream["playback"]["watch"]
    shot(page, "live")
    card.locator("[data-role=end]").click()
    card.locator("[data-role=confirm-end]").click()
    wait_until(lambda: page.locator(f"#streams li[data-id='{stream['id']}'] [data-role=status]")
               .inner_text() == "ended", timeout=10, what="the stream ended")
    assert client.get(f"/v1/live-streams/{stream['id']}").json()["status"] == "ended"
