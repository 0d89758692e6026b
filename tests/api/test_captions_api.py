"""Caption files, review and the glossary through the real API (issue 3).

One private asset without automatic captions serves the module; tests run in file order and
build on each other's track (upload, bad uploads, edit, approve, delete).
"""

from __future__ import annotations

import codecs
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import m3u8
import pytest

from tests.conftest import Stack, upload, wait_for
from tests.support.media import make_clip

SRT = (
    "1\n00:00:00,500 --> 00:00:01,800\nHello <i>everyone</i>.\n\n"
    "2\n00:00:02,000 --> 00:00:03,500\nWelcome to the\nannual meeting.\n\n"
)
VTT = (
    "WEBVTT\n\nintro\n00:00:00.250 --> 00:00:01.250 align:start\nBonjour &amp; welcome\n\n"
    "00:00:01.500 --> 00:00:03.000\n<v Anna>Second cue</v>\n"
)
LIMIT = 2 * 1024 * 1024
SEGMENT_OF_50_MB = 64 * 1024


@pytest.fixture(scope="module")
def asset(worker: Path, api_server: str, stack: Stack, media_dir: Path) -> str:
    clip = make_clip(media_dir / "captions-api.mp4", seconds=4, fps=25)
    with httpx.Client(base_url=api_server, timeout=60,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as c:
        resp = upload(c, clip, title="Captions API", captions="none", visibility="private")
        assert resp.status_code == 202, resp.text
        asset_id = str(resp.json()["id"])
        assert wait_for(c, asset_id)["status"] == "ready"
    return asset_id


@pytest.fixture(scope="module")
def token(asset: str, api_server: str, stack: Stack) -> str:
    resp = httpx.post(f"{api_server}/v1/assets/{asset}/playback-tokens",
                      headers={"Authorization": f"Bearer {stack.api_key}"})
    return str(resp.json()["token"])


def assert_error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"], body


def put(client: httpx.Client, asset: str, body: bytes | Iterator[bytes],
        lang: str = "en") -> httpx.Response:
    return client.put(f"/v1/assets/{asset}/captions/{lang}", content=body,
                      headers={"Content-Type": "text/plain"})


def master(anon: httpx.Client, asset: str, token: str) -> str:
    resp = anon.get(f"/play/{asset}.m3u8", params={"token": token})
    assert resp.status_code == 200, resp.text
    return resp.text


def track_entry(client: httpx.Client, asset: str, lang: str = "en") -> dict[str, object] | None:
    captions = client.get(f"/v1/assets/{asset}").json()["captions"]
    return next((t for t in captions if t["language"] == lang), None)


def test_nothing_before_any_track(client: httpx.Client, anon: httpx.Client, asset: str,
                                  token: str) -> None:
    assert_error(client.get(f"/v1/assets/{asset}/transcript"), 404, "transcript_not_found")
    assert_error(client.get(f"/v1/assets/{asset}/captions/en.vtt"), 404, "caption_not_found")
    assert client.get(f"/v1/assets/{asset}").json()["captions"] == []
    assert "SUBTITLES" not in master(anon, asset, token)


def test_put_srt_replaces_the_track(client: httpx.Client, anon: httpx.Client, asset: str,
                                    token: str) -> None:
    resp = put(client, asset, SRT.encode())
    assert resp.status_code == 200, resp.text
    entry = {"language": "en", "source": "upload", "status": "ready", "review": "edited",
             "error": None, "percent": None, "translation_of": None}
    assert resp.json() == entry
    assert track_entry(client, asset) == entry
    vtt = client.get(f"/v1/assets/{asset}/captions/en.vtt")
    assert vtt.headers["content-type"].startswith("text/vtt")
    assert vtt.text == ("WEBVTT\n\n00:00:00.500 --> 00:00:01.800\nHello everyone.\n\n"
                        "00:00:02.000 --> 00:00:03.500\nWelcome to the\nannual meeting.\n\n")
    srt = client.get(f"/v1/assets/{asset}/captions/en.srt")
    assert srt.headers["content-type"].startswith("application/x-subrip")
    assert srt.text == SRT.replace("<i>everyone</i>", "everyone")
    text = master(anon, asset, token)
    [media] = m3u8.loads(text).media
    assert (media.type, media.group_id, media.name, media.language) == (
        "SUBTITLES", "subs", "English", "en")
    assert all('SUBTITLES="subs"' in line for line in text.splitlines()
               if line.startswith("#EXT-X-STREAM-INF"))
    subs = anon.get(f"/play/{asset}/subs-en.m3u8", params={"token": token})
    assert subs.status_code == 200 and "#EXT-X-ENDLIST" in subs.text
    first = httpx.get(m3u8.loads(subs.text).segments[0].uri)  # presigned like the video ones
    assert first.headers["content-type"].startswith("text/vtt")
    assert first.text.startswith("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:")
    assert "Hello everyone." in first.text


def test_private_asset_needs_the_playback_token(anon: httpx.Client, asset: str,
                                                token: str) -> None:
    assert_error(anon.get(f"/v1/assets/{asset}/captions/en.vtt"), 403, "playback_token_required")
    resp = anon.get(f"/v1/assets/{asset}/captions/en.srt", params={"token": token})
    assert resp.status_code == 200 and "Hello everyone." in resp.text
    assert_error(anon.get(f"/v1/assets/{asset}/captions/en.vtt",
                          headers={"Authorization": "Bearer wrong"}), 403, "invalid_api_key")


def test_put_webvtt_in_another_language(client: httpx.Client, anon: httpx.Client, asset: str,
                                        token: str) -> None:
    resp = put(client, asset, codecs.BOM_UTF8 + VTT.encode(), lang="FR-ca")
    assert resp.status_code == 200, resp.text
    assert resp.json()["language"] == "fr-CA"
    assert client.get(f"/v1/assets/{asset}/captions/fr-CA.vtt").text == (
        "WEBVTT\n\n00:00:00.250 --> 00:00:01.250\nBonjour &amp; welcome\n\n"
        "00:00:01.500 --> 00:00:03.000\nSecond cue\n\n")
    text = master(anon, asset, token)
    media = {m.language: (m.type, m.name, m.default) for m in m3u8.loads(text).media}
    assert media == {"en": ("SUBTITLES", "English", "YES"),  # the asset's spoken language
                     "fr-CA": ("SUBTITLES", "Français (fr-CA)", "NO")}


BAD_INPUTS = [
    ("not-utf8", b"1\n00:00:01,000 --> 00:00:02,000\nCaf\xe9 cr\xe8me\n", 415, "caption_not_utf8"),
    ("utf16", codecs.BOM_UTF16_LE + "WEBVTT\n".encode("utf-16-le"), 415, "caption_not_utf8"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), 415, "caption_binary"),
    ("empty", b"", 422, "caption_empty"),
    ("blank", b"\n \n\t\n", 422, "caption_empty"),
    ("header-only", b"WEBVTT\n\n", 422, "caption_empty"),
    ("overlapping", b"1\n00:00:01,000 --> 00:00:03,000\nOne\n\n"
                    b"2\n00:00:02,000 --> 00:00:04,000\nTwo\n", 422, "caption_overlapping_cues"),
    ("negative", b"1\n-00:00:01,000 --> 00:00:02,000\nEarly\n", 422, "caption_negative_time"),
    ("end-before-start", b"WEBVTT\n\n00:00:03.000 --> 00:00:02.000\nBackwards\n", 422,
     "caption_bad_timing"),
    ("script", b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<script>alert(1)</script>\n", 422,
     "caption_markup_forbidden"),
    ("arrow-in-text", b"1\n00:00:01,000 --> 00:00:02,000\nthis --> that\n", 422,
     "caption_markup_forbidden"),
    ("ass", b"[Script Info]\nTitle: talk\nScriptType: v4.00+\n\n[Events]\n"
            b"Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,Hello\n", 415,
     "caption_ass_unsupported"),
    ("not-captions", b"<html><body>hello</body></html>", 415, "caption_format_unknown"),
]


@pytest.mark.parametrize(("body", "status", "code"), [b[1:] for b in BAD_INPUTS],
                         ids=[b[0] for b in BAD_INPUTS])
def test_bad_caption_file_leaves_the_track(client: httpx.Client, asset: str, body: bytes,
                                           status: int, code: str) -> None:
    before = client.get(f"/v1/assets/{asset}/captions/en.vtt").text
    assert_error(put(client, asset, body), status, code)
    assert client.get(f"/v1/assets/{asset}/captions/en.vtt").text == before
    assert track_entry(client, asset)["source"] == "upload"  # type: ignore[index]


def test_50_mb_body_is_refused(client: httpx.Client, asset: str) -> None:
    before = client.get(f"/v1/assets/{asset}/captions/en.vtt").text
    cue = b"1\n00:00:01,000 --> 00:00:02,000\nHello\n\n"
    big = cue + random.Random(3).randbytes(50 * 1024 * 1024 - len(cue))
    assert_error(put(client, asset, big), 413, "caption_too_large")  # Content-Length says so

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to trust
        for i in range(0, len(big), SEGMENT_OF_50_MB):
            yield big[i:i + SEGMENT_OF_50_MB]

    assert_error(put(client, asset, chunks()), 413, "caption_too_large")
    assert client.get(f"/v1/assets/{asset}/captions/en.vtt").text == before


def test_bad_requests(client: httpx.Client, anon: httpx.Client, asset: str) -> None:
    assert_error(put(client, asset, SRT.encode(), lang="not_a_language!"), 422,
                 "invalid_language")
    assert_error(put(client, "as-0123456789abcdef", SRT.encode()), 404, "asset_not_found")
    assert_error(anon.put(f"/v1/assets/{asset}/captions/en", content=SRT.encode()), 401,
                 "missing_api_key")
    assert_error(client.delete(f"/v1/assets/{asset}/captions/de"), 404, "caption_not_found")
    assert_error(client.post(f"/v1/assets/{asset}/captions/de/approve"), 404,
                 "caption_not_found")


def test_review_edit_and_approve(client: httpx.Client, asset: str) -> None:
    cues = [{"start": 0.5, "end": 1.5, "text": "Hello,  everyone!"},
            {"start": 2.0, "end": 3.25, "text": "Welcome to\nPodium."}]
    resp = client.patch(f"/v1/assets/{asset}/captions/en", json={"cues": cues[::-1]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["review"] == "edited"
    assert client.get(f"/v1/assets/{asset}/captions/en.vtt").text == (
        "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nHello, everyone!\n\n"
        "00:00:02.000 --> 00:00:03.250\nWelcome to\nPodium.\n\n")
    detail = client.get(f"/v1/assets/{asset}/captions/en").json()
    assert detail["cues"][1] == {"start": 2.0, "end": 3.25, "text": "Welcome to\nPodium."}

    before = client.get(f"/v1/assets/{asset}/captions/en.vtt").text
    for bad, code in [
        ([{"start": 0.5, "end": 2.5, "text": "a"}, {"start": 2.0, "end": 3.0, "text": "b"}],
         "caption_overlapping_cues"),
        ([{"start": -1, "end": 1, "text": "a"}], "caption_negative_time"),
        ([{"start": 1, "end": 2, "text": "<b onclick=x>a</b>"}], "caption_markup_forbidden"),
        ([{"start": 1, "end": 2, "text": "a\u0007"}], "caption_bad_text"),
        ([], "caption_empty"),
    ]:
        assert_error(client.patch(f"/v1/assets/{asset}/captions/en", json={"cues": bad}), 422,
                     code)
    assert client.get(f"/v1/assets/{asset}/captions/en.vtt").text == before

    resp = client.post(f"/v1/assets/{asset}/captions/en/approve")
    assert resp.status_code == 200 and resp.json()["review"] == "approved"
    assert track_entry(client, asset)["review"] == "approved"  # type: ignore[index]


def test_delete_a_track(client: httpx.Client, anon: httpx.Client, asset: str,
                        token: str) -> None:
    assert client.delete(f"/v1/assets/{asset}/captions/fr-CA").status_code == 204
    assert track_entry(client, asset, "fr-CA") is None
    assert_error(client.get(f"/v1/assets/{asset}/captions/fr-CA.vtt"), 404, "caption_not_found")
    text = master(anon, asset, token)
    assert text.count("TYPE=SUBTITLES") == 1 and "fr-CA" not in text
    assert client.delete(f"/v1/assets/{asset}/captions/en").status_code == 204
    text = master(anon, asset, token)
    assert "#EXT-X-MEDIA" not in text and "SUBTITLES=" not in text
    assert_error(anon.get(f"/play/{asset}/subs-en.m3u8", params={"token": token}), 404,
                 "rendition_not_found")


def test_generate_needs_audio(client: httpx.Client, worker: Path, media_dir: Path) -> None:
    silent = make_clip(media_dir / "captions-silent.mp4", seconds=2, audio=False)
    asset_id = upload(client, silent, title="No audio").json()["id"]
    assert wait_for(client, asset_id)["status"] == "ready"
    assert client.get(f"/v1/assets/{asset_id}").json()["captions"] == []  # no audio: no ASR
    assert_error(client.post(f"/v1/assets/{asset_id}/captions/en/generate"), 422,
                 "asset_has_no_audio")


def test_glossary_roundtrip(client: httpx.Client, anon: httpx.Client) -> None:
    terms = ["  Anna   Kowalski ", "Podium", "Podium", "Kubernetes", ""]
    resp = client.put("/v1/glossary", json={"terms": terms})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"terms": ["Anna Kowalski", "Podium", "Kubernetes"]}
    assert client.get("/v1/glossary").json() == {"terms": ["Anna Kowalski", "Podium", "Kubernetes"]}
    assert_error(client.put("/v1/glossary", json={"terms": ["x"] * 201}), 422, "invalid_glossary")
    assert_error(client.put("/v1/glossary", json={"terms": ["y" * 101]}), 422, "invalid_glossary")
    assert_error(client.put("/v1/glossary", json={"terms": "Podium"}), 422, "invalid_request")
    assert_error(anon.get("/v1/glossary"), 401, "missing_api_key")
    assert client.get("/v1/glossary").json()["terms"][0] == "Anna Kowalski"
    assert client.put("/v1/glossary", json={"terms": []}).json() == {"terms": []}
