"""Captions in the audience's languages, end to end through the API, worker, Redis, S3, ffmpeg:
`language=auto` on a real recording of human speech (LibriVox, from pocketsphinx-testdata),
then a human translation into Chinese beside the detected English track."""
# ruff: noqa: RUF001  (Chinese test text: its full-width punctuation is the point)

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import m3u8
import pytest

from tests.conftest import Stack, upload, wait_for
from tests.support import browser as browser_support
from tests.support import recordings
from tests.support.speech import wer
from tests.support.wait import wait_until

pytestmark = pytest.mark.skipif(not recordings.librivox(),
                                reason="needs pocketsphinx-testdata (make system-deps)")
CLIPS = ("0880", "0930")  # 3.0 s + 3.3 s of Sense and Sensibility


@pytest.fixture(scope="module")
def reading(media_dir: Path) -> tuple[Path, str]:
    """A small MP4: a test pattern over two recorded sentences, and what is said."""
    chosen = [recordings.recording(c) for c in CLIPS]
    path = media_dir / "librivox-reading.mp4"
    if not path.exists():
        inputs = [arg for r in chosen for arg in ("-i", str(r.path))]
        subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-y", *inputs,
                        "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=7",
                        "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1,apad=whole_dur=7[a]",
                        "-map", "2:v", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast",
                        "-pix_fmt", "yuv420p", "-c:a", "aac", "-ar", "48000", "-t", "7",
                        str(path)], check=True, capture_output=True, timeout=120)
    return path, " ".join(r.reference for r in chosen)


def track_of(client: httpx.Client, asset_id: str, language: str) -> dict[str, object] | None:
    asset = client.get(f"/v1/assets/{asset_id}").json()
    return next((t for t in asset["captions"] if t["language"] == language
                 and t["status"] in ("ready", "errored")), None)


@pytest.fixture(scope="module")
def auto_asset(api_server: str, stack: Stack, worker: Path,
               reading: tuple[Path, str]) -> Iterator[str]:
    """The reading uploaded with `language=auto`, ready with its detected track."""
    with httpx.Client(base_url=api_server, timeout=60,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as c:
        resp = upload(c, reading[0], title="Sense and Sensibility", language="auto")
        assert resp.status_code == 202, resp.text
        assert resp.json()["language"] == "auto"
        asset_id = str(resp.json()["id"])
        assert wait_for(c, asset_id)["status"] == "ready"
        wait_until(lambda: track_of(c, asset_id, "en"), 120, 0.5, "the detected English track")
        yield asset_id
        c.delete(f"/v1/assets/{asset_id}")


def test_auto_labels_asset_and_track_with_the_language_heard(
        client: httpx.Client, auto_asset: str, reading: tuple[Path, str]) -> None:
    track = track_of(client, auto_asset, "en")
    assert track is not None and track["status"] == "ready" and track["source"] == "asr", track
    asset = client.get(f"/v1/assets/{auto_asset}").json()
    assert asset["language"] == "en"
    assert [t["language"] for t in asset["captions"]] == ["en"]
    transcript = client.get(f"/v1/assets/{auto_asset}/transcript").json()
    assert transcript["language"] == "en"
    assert wer(reading[1], transcript["text"]) <= 0.2, transcript["text"]


def subtitles(anon: httpx.Client, asset_id: str) -> dict[str, m3u8.Media]:
    master = m3u8.loads(anon.get(f"/play/{asset_id}.m3u8").text)
    return {m.language: m for m in master.media if m.type == "SUBTITLES"}


def test_a_human_translation_plays_beside_its_source(
        client: httpx.Client, anon: httpx.Client, auto_asset: str) -> None:
    template = client.get(f"/v1/assets/{auto_asset}/captions/en/template?format=json")
    assert template.status_code == 200, template.text
    assert template.headers["content-type"].startswith("application/json")
    data = template.json()
    cues = data["cues"]
    source_times = [(c["start"], c["end"]) for c in cues]
    for n, cue in enumerate(cues, start=1):
        cue["text"] = f"第{n}句：他并不是一个心怀恶意的年轻人。"
    put = client.put(f"/v1/assets/{auto_asset}/captions/zh-Hans?translation_of=en",
                     content=json.dumps(data, ensure_ascii=False).encode())
    assert put.status_code == 200, put.text
    assert put.json()["translation_of"] == "en" and put.json()["review"] == "edited"
    detail = client.get(f"/v1/assets/{auto_asset}/captions/zh-Hans").json()
    assert [(c["start"], c["end"]) for c in detail["cues"]] == source_times
    assert "第1句" in client.get(f"/v1/assets/{auto_asset}/captions/zh-Hans.vtt").text

    media = subtitles(anon, auto_asset)
    assert sorted(media) == ["en", "zh-Hans"]
    assert media["en"].name == "English" and media["en"].default == "YES"
    assert media["zh-Hans"].name == "中文 (zh-Hans)" and media["zh-Hans"].default == "NO"
    master_url = anon.base_url.join(f"/play/{auto_asset}.m3u8")
    rendition = anon.get(master_url.join(media["zh-Hans"].uri))
    assert rendition.status_code == 200, rendition.text
    segment = anon.get(master_url.join(media["zh-Hans"].uri).join(
        m3u8.loads(rendition.text).segments[0].uri))
    assert segment.status_code == 200 and "第1句" in segment.text

    # XLIFF works the same way; a template that does not match the source is refused
    xliff = client.get(f"/v1/assets/{auto_asset}/captions/en/template?format=xliff")
    assert xliff.status_code == 200 and "<trans-unit" in xliff.text
    bad = client.put(f"/v1/assets/{auto_asset}/captions/fr?translation_of=en",
                     content=xliff.text.encode())  # targets left empty
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "translation_mismatch"


@pytest.mark.slow
@pytest.mark.skipif(not browser_support.CHROMIUM.exists(),
                    reason="needs Debian's chromium (make system-deps)")
def test_hlsjs_offers_both_languages_in_chromium(api_server: str, auto_asset: str,
                                                 tmp_path: Path) -> None:
    with browser_support.chromium(tmp_path / "profile") as browser:
        page = browser.new_page()
        resp = page.goto(f"{api_server}/watch/{auto_asset}")
        assert resp is not None and resp.status == 200
        page.wait_for_function("() => window.podiumPlayer && "
                               "window.podiumPlayer.subtitleTracks.length === 2",
                               timeout=20_000, polling=50)
        tracks = page.evaluate("() => window.podiumPlayer.subtitleTracks.map("
                               "t => [t.lang, t.name])")
        assert sorted(tracks) == [["en", "English"], ["zh-Hans", "中文 (zh-Hans)"]]
        chinese = [lang for lang, _name in tracks].index("zh-Hans")
        page.evaluate("""(i) => { const v = document.querySelector("video");
                                  v.muted = true; v.play();
                                  window.podiumPlayer.subtitleTrack = i; }""", chinese)
        page.wait_for_function("""() => Array.from(document.querySelector("video").textTracks)
            .some(t => t.mode === "showing" && t.cues &&
                       Array.from(t.cues).some(c => c.text.includes("第1句")))""",
                               timeout=30_000, polling=100)
        page.screenshot(path=tmp_path / "watch-zh-Hans.png")


def test_new_source_timings_flag_the_translation_for_review(
        client: httpx.Client, auto_asset: str) -> None:
    zh = client.get(f"/v1/assets/{auto_asset}/captions/zh-Hans")
    if zh.status_code == 404:
        pytest.skip("needs the translation uploaded by the test before")
    en = client.get(f"/v1/assets/{auto_asset}/captions/en").json()
    same = client.patch(f"/v1/assets/{auto_asset}/captions/en", json={"cues": en["cues"]})
    assert same.status_code == 200, same.text  # text may change, times did not
    assert track_of(client, auto_asset, "zh-Hans")["review"] == "edited"  # type: ignore[index]
    shifted = [{**c, "start": c["start"] + 0.2, "end": c["end"] + 0.2} for c in en["cues"]]
    moved = client.patch(f"/v1/assets/{auto_asset}/captions/en", json={"cues": shifted})
    assert moved.status_code == 200, moved.text
    flagged = track_of(client, auto_asset, "zh-Hans")
    assert flagged is not None and flagged["review"] == "needs_review", flagged
    assert client.get(f"/v1/assets/{auto_asset}/captions/zh-Hans").json()["review"] == (
        "needs_review")
    approved = client.post(f"/v1/assets/{auto_asset}/captions/zh-Hans/approve")
    assert approved.json()["review"] == "approved"


def test_machine_translation_without_a_model_says_so(client: httpx.Client,
                                                     auto_asset: str) -> None:
    resp = client.post(f"/v1/assets/{auto_asset}/captions/en/translate", json={"to": "zh"})
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "translation_unavailable"
    assert "PODIUM_MT_MODEL_DIR" in resp.json()["error"]["message"]


def test_auto_is_accepted_on_upload_slots_and_nonsense_is_not(client: httpx.Client) -> None:
    slot = client.post("/v1/uploads", json={"title": "Keynote", "language": "AUTO"})
    assert slot.status_code == 201, slot.text
    bad = client.post("/v1/uploads", json={"title": "Keynote", "language": "automatic"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_language"
