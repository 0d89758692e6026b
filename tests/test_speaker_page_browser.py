"""The speaker's page in Debian's Chromium (through playwright): a speaker opens the link,
picks a generated clip, the page is reloaded in the middle of the upload, the same file is
picked again and the upload continues from where it stopped (the same tus upload, not a new
one), then the page follows the processing and the preview plays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from config import get_settings
from ingest.assets import quotas
from runtime import handles
from tests.api.test_tus import new_slot
from tests.conftest import Stack
from tests.support.browser import chromium, require_chromium, screenshot_path
from tests.support.media import make_clip
from tests.support.wait import wait_until

require_chromium()

pytestmark = pytest.mark.slow
UPLOAD_BYTES_PER_S = 400_000
"""Chromium's network throttling: slow enough to reload in the middle of the upload."""
STATE = "() => window.podiumSpeaker"


@pytest.fixture
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """A phone's screen (one Playwright at a time: each test opens its own browser)."""
    profile = tmp_path_factory.mktemp("chromium-speaker")
    with chromium(profile, viewport={"width": 390, "height": 844}) as context:
        yield context


def throttle(page: Page, upload_bps: int) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1,
        "uploadThroughput": upload_bps})


def transfers_of(slot_id: str) -> set[str]:
    redis = handles.redis_connection()
    prefix = handles.transfers()._prefix
    return {m.decode() for m in redis.smembers(f"{prefix}:transfers-of:{slot_id}")}  # type: ignore[union-attr]


def test_reload_mid_upload_resumes_and_the_preview_plays(
        client: httpx.Client, worker: Path, media_dir: Path, browser: BrowserContext) -> None:
    clip = make_clip(media_dir / "speaker-640x360.mp4", width=640, height=360, seconds=8,
                     container_args=("-b:v", "8M", "-maxrate", "8M", "-bufsize", "2M"))
    size = clip.stat().st_size
    assert size > 8 * UPLOAD_BYTES_PER_S
    slot = new_slot(client, max_duration_s=60)
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    throttle(page, UPLOAD_BYTES_PER_S)
    page.goto(slot["url"])
    page.set_input_files("#file", str(clip))
    wait_until(lambda: (page.evaluate(STATE).get("sent") or 0) > size * 0.3, timeout=60,
               interval=0.2, what="a third of the file sent")
    first = transfers_of(slot["id"])
    assert len(first) == 1

    page.reload()
    hint = page.locator("#resume-hint")
    hint.wait_for(state="visible", timeout=10_000)
    assert "did not finish" in hint.inner_text()
    throttle(page, 20 * UPLOAD_BYTES_PER_S)
    page.set_input_files("#file", str(clip))
    wait_until(lambda: page.evaluate(STATE)["resumedFrom"], timeout=20,
               what="the page resuming its previous upload")
    wait_until(lambda: page.evaluate(STATE)["state"] in {"sent", "ready", "failed"},
               timeout=120, interval=0.3, what="upload finished")
    assert page.evaluate(STATE)["state"] != "failed", page.evaluate(STATE)
    assert transfers_of(slot["id"]) == first, "the reload started a new upload"

    wait_until(lambda: page.evaluate(STATE)["state"] == "ready", timeout=240, interval=0.5,
               what="the preview")
    wait_until(lambda: page.evaluate("() => document.getElementById('player').readyState") >= 2,
               timeout=30, what="the preview loaded")
    page.evaluate("() => document.getElementById('player').play()")
    wait_until(lambda: page.evaluate("() => document.getElementById('player').currentTime") > 0.5,
               timeout=30, what="the preview playing")
    page.screenshot(path=str(screenshot_path("speaker-page")), full_page=True)
    body = client.get(f"/v1/uploads/{slot['id']}").json()
    assert body["status"] == "asset_created"
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_a_speaker_sends_a_new_version_from_a_tablet_until_the_link_is_locked(
        client: httpx.Client, worker: Path, media_dir: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    first = make_clip(media_dir / "new-version-v0-320x180.mp4", width=320, height=180, seconds=4)
    second = make_clip(media_dir / "new-version-v1-160x90.mp4", width=160, height=90, seconds=5)
    slot = new_slot(client, max_duration_s=60)
    put = httpx.put(slot["put_url"], content=first.read_bytes(), timeout=60)
    assert put.status_code == 201, put.text
    asset_id = put.json()["asset_id"]

    profile = tmp_path_factory.mktemp("chromium-tablet")
    with chromium(profile, viewport={"width": 820, "height": 1180}, has_touch=True,
                  is_mobile=True) as tablet:
        page = tablet.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(slot["url"])
        # the first version plays, and the page offers a new one once it (and its captions)
        # is done
        wait_until(lambda: page.evaluate(STATE)["canReplace"], timeout=240, interval=0.5,
                   what="the offer of a new version")
        assert page.evaluate(STATE)["playingVersion"] == 0
        assert page.locator("#replace").is_visible() and page.locator("#pick").is_hidden()

        page.tap("#replace-button")
        assert page.locator("#pick").is_visible()
        assert "new version" in page.locator("#drop-title").inner_text()
        assert page.evaluate("() => document.activeElement.id") == "file"
        # keyboard: back out, and choose again
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == "keep"
        page.keyboard.press("Enter")
        assert page.locator("#pick").is_hidden() and page.locator("#replace").is_visible()
        assert page.evaluate("() => document.activeElement.id") == "replace-button"
        page.keyboard.press("Enter")
        assert page.locator("#pick").is_visible()

        page.set_input_files("#file", str(second))
        wait_until(lambda: page.evaluate(STATE)["version"] == 1, timeout=60, interval=0.2,
                   what="the new version sent")
        wait_until(lambda: page.evaluate(STATE)["state"] == "ready"
                   and page.evaluate(STATE)["playingVersion"] == 1, timeout=240, interval=0.5,
                   what="the new version ready on the page")
        seen = page.evaluate(STATE)["seen"]
        assert any(v == 1 and playing == 0 and status in ("waiting", "preparing")
                   for v, playing, status in seen), seen  # the old one stayed online meanwhile
        assert "new version is ready" in page.locator("#preview-title").inner_text()
        wait_until(lambda: page.evaluate(
            "() => document.getElementById('player').videoWidth") == 160,
            timeout=30, what="the preview showing the new version")
        page.evaluate("() => document.getElementById('player').play()")
        wait_until(lambda: page.evaluate(
            "() => document.getElementById('player').currentTime") > 0.5,
            timeout=30, what="the new version playing")
        asset = client.get(f"/v1/assets/{asset_id}").json()
        assert (asset["version"], asset["playing_version"]) == (1, 1)
        wait_until(lambda: page.evaluate(STATE)["canReplace"], timeout=120, interval=0.5,
                   what="the offer of a further version")
        page.screenshot(path=str(screenshot_path("speaker-page-new-version")), full_page=True)

        # locked by the producer: the page no longer offers a new version, and says why
        assert client.post(f"/v1/uploads/{slot['id']}/lock").status_code == 200
        page.reload()
        wait_until(lambda: page.evaluate(STATE)["state"] == "ready", timeout=30,
                   what="the page after the lock")
        closed = page.locator("#replace-closed")
        closed.wait_for(state="visible", timeout=10_000)
        assert "locked" in closed.inner_text()
        assert page.locator("#replace").is_hidden() and page.locator("#pick").is_hidden()
        assert not [e for e in errors if "Content Security Policy" in e], errors


def test_a_full_queue_is_explained_to_the_speaker_and_the_upload_starts_once_it_clears(
        client: httpx.Client, stack: Stack, media_dir: Path, browser: BrowserContext) -> None:
    clip = make_clip(media_dir / "speaker-queue-160x90.mp4", width=160, height=90, seconds=2)
    slot = new_slot(client)
    settings = get_settings()
    active = quotas.ActiveAssets(handles.asset_store(), settings.queue_prefix)
    owner = quotas.owner_of(stack.api_key)
    taken = [f"as-queue-test-{n}" for n in range(settings.max_active_assets_per_key)]
    try:
        # the key that made the link is at its limit on work in flight, whatever else of the
        # session's is in flight too (reserve() would refuse the last ones, and the ones taken
        # would then hold the key at its limit for every later test)
        for asset_id in taken:
            active.track(owner, asset_id)
        page = browser.new_page()
        page.goto(slot["url"])
        page.set_input_files("#file", str(clip))
        message = page.locator("#message")
        wait_until(lambda: "too_many_jobs" in page.evaluate(STATE)["errors"], timeout=30,
                   what="the upload refused for a full queue")
        text = message.inner_text()
        assert "starts by itself" in text and "API key" not in text, text
        assert page.evaluate(STATE)["state"] == "sending"  # not given up: it keeps trying
    finally:
        for asset_id in taken:
            active.release(owner, asset_id)
    # the page's next try comes after its back-off (up to a minute by then)
    wait_until(lambda: page.evaluate(STATE)["state"] in {"sent", "ready", "failed"},
               timeout=300, interval=0.3, what="the upload once the queue cleared")
    assert page.evaluate(STATE)["state"] != "failed", page.evaluate(STATE)
    assert client.get(f"/v1/uploads/{slot['id']}").json()["status"] == "asset_created"
