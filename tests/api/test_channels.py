"""Channels through the real API, worker, storage and ffmpeg: a producer builds a run-of-show,
viewers read the live stream."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from ingest.channels.models import Channel
from runtime import handles
from tests.conftest import Stack, upload, wait_for
from tests.support.media import make_clip
from tests.support.wait import wait_until
from workers.recovery import reconcile


@pytest.fixture(scope="module")
def media(api_server: str, stack: Stack, worker: Path, media_dir: Path) -> Iterator[dict]:
    """Two items of different sizes (one without audio) and a slate, all ready."""
    clips = {
        "keynote": make_clip(media_dir / "ch-keynote-640x360.mp4", width=640, height=360,
                             seconds=6),
        "phone": make_clip(media_dir / "ch-phone-320x180.mp4", width=320, height=180,
                           seconds=5, audio=False),
        "slate": make_clip(media_dir / "ch-slate-320x180.mp4", width=320, height=180,
                           seconds=4),
    }
    with httpx.Client(base_url=api_server, timeout=60,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as c:
        ids = {name: upload(c, path, title=name, captions="none").json()["id"]
               for name, path in clips.items()}
        ready = {name: wait_for(c, asset_id, timeout_s=240) for name, asset_id in ids.items()}
        assert all(a["status"] == "ready" for a in ready.values()), ready
        yield ready


def _channel(client: httpx.Client, media: dict, **extra: object) -> dict:
    resp = client.post("/v1/channels", json={"name": "Main stage", "window_s": 30,
                                             "slate_asset_id": media["slate"]["id"], **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _add(client: httpx.Client, channel_id: str, asset_id: str, **extra: object) -> dict:
    resp = client.post(f"/v1/channels/{channel_id}/items", json={"asset_id": asset_id, **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _segments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def _numbered(text: str) -> dict[int, str]:
    """Media sequence number → segment path (presigned query strings left out)."""
    found = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text)
    first = int(found.group(1)) if found else 0
    return {first + n: urlsplit(u).path for n, u in enumerate(_segments(text))}


AUDIO_OVERLAP = re.compile(r"non monotonically increasing dts to muxer in stream 1: "
                           r"(\d+) >= (\d+)")
AAC_FRAME = 1024


def _decode_errors(stderr: str) -> list[str]:
    """ffmpeg's complaints, but for the last AAC frame of an item overlapping the next item's
    first (less than one frame, 21 ms: AAC pads its last frame; players absorb it at the
    discontinuity). Every item has audio now, so item boundaries are audio to audio."""
    def harmless(line: str) -> bool:
        found = AUDIO_OVERLAP.search(line)
        return found is not None and int(found.group(1)) - int(found.group(2)) < AAC_FRAME
    return [line for line in stderr.splitlines() if line.strip() and not harmless(line)]


def _media_url(anon: httpx.Client, channel_id: str, variant: int = 0,
               token: str = "") -> str:
    resp = anon.get(f"/live/{channel_id}.m3u8" + (f"?token={token}" if token else ""))
    assert resp.status_code == 200, resp.text
    return _segments(resp.text)[variant]


def test_channel_document_and_errors(client: httpx.Client, media: dict) -> None:
    created = _channel(client, media)
    assert {k: created[k] for k in ("name", "mode", "state", "items", "now", "next")} == {
        "name": "Main stage", "mode": "linear", "state": "idle", "items": [], "now": None,
        "next": None}
    assert client.post("/v1/channels", json={"name": "x", "window_s": 10}).status_code == 422
    missing = client.post(f"/v1/channels/{created['id']}/items", json={"asset_id": "as-00"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "asset_not_found"
    assert client.get("/v1/channels/ch-0000000000000000").json()["error"]["code"] == \
        "channel_not_found"
    looped = _channel(client, media, mode="loop")
    pinned = client.post(f"/v1/channels/{looped['id']}/items", json={
        "asset_id": media["phone"]["id"], "starts_at": "2030-01-01T00:00:00Z"})
    assert pinned.status_code == 422
    assert pinned.json()["error"]["code"] == "starts_at_needs_linear"
    body = _add(client, created["id"], media["keynote"]["id"])
    assert [i["asset_id"] for i in body["items"]] == [media["keynote"]["id"]]
    assert body["next"]["asset_id"] == media["keynote"]["id"]
    schedule = client.get(f"/v1/channels/{created['id']}/schedule").json()
    assert [e["asset_id"] for e in schedule] == [media["keynote"]["id"]]
    assert set(schedule[0]) >= {"item_id", "asset_id", "starts_at", "ends_at"}
    listed = client.get("/v1/channels").json()["items"]
    assert created["id"] in {c["id"] for c in listed}


def test_live_stream_plays_across_the_item_boundary(client: httpx.Client, anon: httpx.Client,
                                                    media: dict, stack: Stack) -> None:
    """ffmpeg reads the live stream for longer than the first item and decodes it all."""
    channel = _channel(client, media)
    cid = channel["id"]
    _add(client, cid, media["keynote"]["id"])
    _add(client, cid, media["phone"]["id"])
    assert anon.get(f"/live/{cid}.m3u8").json()["error"]["code"] == "channel_off_air"
    started = client.post(f"/v1/channels/{cid}/start").json()
    assert started["state"] == "on_air"
    assert started["now"]["asset_id"] == media["keynote"]["id"]
    assert started["next"]["asset_id"] == media["phone"]["id"]
    master = anon.get(f"/live/{cid}.m3u8")
    assert master.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert "max-age" in master.headers["cache-control"]
    variants = re.findall(r"BANDWIDTH=(\d+),RESOLUTION=(\d+)x(\d+)", master.text)
    assert [int(h) for _b, _w, h in variants] == [360, 180]
    keynote_bw = max(r["bandwidth"] for r in media["keynote"]["renditions"])
    assert all(int(b) >= keynote_bw for b, _w, _h in variants)  # covers the largest
    low = _media_url(anon, cid, 1)
    wait_until(lambda: _segments(anon.get(low).text), timeout=20, what="a first segment")
    run = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-live_start_index", "0",
         "-i", low, "-t", "10", "-f", "null", "-"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert _decode_errors(run.stderr) == [], run.stderr
    text = anon.get(low).text
    assert "#EXT-X-ENDLIST" not in text and "#EXT-X-TARGETDURATION:4" in text
    assert "#EXT-X-DISCONTINUITY\n" in text and "#EXT-X-PROGRAM-DATE-TIME:" in text
    keynote_segments = [u for u in _segments(text) if media["keynote"]["id"] in u]
    # the 180p variant takes the keynote's closest rendition, its 360p
    assert keynote_segments and all("/360p/seg-" in u for u in keynote_segments)
    resp = anon.get(low)
    again = anon.get(low, headers={"If-None-Match": resp.headers["etag"]})
    assert again.status_code in (200, 304)
    if again.status_code == 200:  # the window moved on between the two requests
        assert again.headers["etag"] != resp.headers["etag"]


def test_skip_shows_in_the_next_playlist(client: httpx.Client, anon: httpx.Client,
                                         media: dict) -> None:
    channel = _channel(client, media)
    cid = channel["id"]
    _add(client, cid, media["keynote"]["id"])
    _add(client, cid, media["phone"]["id"])
    client.post(f"/v1/channels/{cid}/start")
    url = _media_url(anon, cid)
    wait_until(lambda: _segments(anon.get(url).text), timeout=20, what="a first segment")
    skipped = client.post(f"/v1/channels/{cid}/skip")
    assert skipped.status_code == 200, skipped.text
    phone = media["phone"]["id"]

    def after_skip() -> str | None:
        text = anon.get(url).text
        return text if phone in text else None
    text = wait_until(after_skip, timeout=20, what="the next item after a skip")
    shown = _segments(text)
    first_phone = next(i for i, u in enumerate(shown) if phone in u)
    # the keynote (2 segments) was cut: at most what was on air when skip came, plus one
    assert first_phone <= 2
    assert client.get(f"/v1/channels/{cid}").json()["now"]["asset_id"] == phone


def test_private_channel_needs_a_playback_token(client: httpx.Client, anon: httpx.Client,
                                                media: dict) -> None:
    channel = _channel(client, media, visibility="private")
    cid = channel["id"]
    _add(client, cid, media["phone"]["id"])
    client.post(f"/v1/channels/{cid}/start")
    refused = anon.get(f"/live/{cid}.m3u8")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "playback_token_required"
    token = client.post(f"/v1/channels/{cid}/playback-tokens").json()["token"]
    url = _media_url(anon, cid, token=token)
    assert "token=" in url
    assert anon.get(url).status_code == 200
    assert anon.get(url.split("?")[0] + "?token=forged").status_code == 403


def test_channel_survives_losing_redis(client: httpx.Client, anon: httpx.Client, media: dict,
                                       stack: Stack) -> None:
    """The document is in the bucket: Redis keys gone + reconcile, and the stream goes on."""
    channel = _channel(client, media)
    cid = channel["id"]
    _add(client, cid, media["keynote"]["id"])
    client.post(f"/v1/channels/{cid}/start")
    url = _media_url(anon, cid)
    before = wait_until(lambda: _numbered(anon.get(url).text), timeout=20, what="segments")
    conn = handles.redis_connection()
    prefix = stack.env["PODIUM_QUEUE_PREFIX"]
    conn.delete(*conn.scan_iter(f"{prefix}:*"))  # this run's keys only: Redis is shared
    assert client.get("/v1/channels").json()["items"] == []
    report = reconcile(handles.asset_store(), conn, handles.channel_store())
    assert report.channels >= 1
    assert cid in {c["id"] for c in client.get("/v1/channels").json()["items"]}
    assert client.get(f"/v1/channels/{cid}").json()["state"] == "on_air"
    after = _numbered(anon.get(url).text)
    assert min(after) >= min(before)
    common = set(before) & set(after)
    assert common and all(before[n] == after[n] for n in common)  # same URI, same number


SRT = "1\n00:00:00,500 --> 00:00:03,000\nWelcome to the main stage.\n\n" \
      "2\n00:00:04,500 --> 00:00:05,500\nThank you.\n"


def test_subtitle_playlist_keeps_step_with_the_video(client: httpx.Client, anon: httpx.Client,
                                                     media: dict) -> None:
    """The keynote gets a caption track; the phone recording has none: empty cues stand in."""
    keynote, phone = media["keynote"]["id"], media["phone"]["id"]
    put = client.put(f"/v1/assets/{keynote}/captions/en", content=SRT.encode(),
                     headers={"Content-Type": "text/plain"})
    assert put.status_code in (200, 201), put.text
    channel = _channel(client, media)
    cid = channel["id"]
    _add(client, cid, keynote)
    _add(client, cid, phone)
    client.post(f"/v1/channels/{cid}/start")
    master = anon.get(f"/live/{cid}.m3u8").text
    assert 'TYPE=SUBTITLES' in master and 'SUBTITLES="subs"' in master
    subs_url = re.search(r'TYPE=SUBTITLES[^\n]*URI="([^"]+)"', master) or \
        re.search(r'URI="([^"]+subs-en[^"]*)"', master)
    assert subs_url is not None
    video_url = _media_url(anon, cid)

    head = r"#EXT-X-(?:MEDIA-SEQUENCE|DISCONTINUITY-SEQUENCE):\d+"

    def both_past_the_boundary() -> tuple[str, str] | None:
        video, subs = anon.get(video_url).text, anon.get(subs_url.group(1)).text
        # (a segment may end between the two requests: then ask again)
        same_window = re.findall(head, video) == re.findall(head, subs)
        return (video, subs) if phone in video and same_window else None
    video, subs = wait_until(both_past_the_boundary, timeout=30, what="the second item")
    assert video.count("#EXT-X-DISCONTINUITY\n") == subs.count("#EXT-X-DISCONTINUITY\n")
    cues = _segments(subs)
    assert len(cues) == len(_segments(video))
    assert any(f"{keynote}/hls/subs-en/seg-" in u for u in cues)
    assert all(u.endswith("/empty.vtt") for u, v in zip(cues, _segments(video), strict=True)
               if phone in v)
    empty = anon.get(next(u for u in cues if u.endswith("/empty.vtt")))
    assert empty.status_code == 200 and empty.text.startswith("WEBVTT")
    cue = anon.get(next(u for u in cues if "subs-en" in u))
    assert cue.status_code == 200 and "Welcome to the main stage." in cue.text


def test_an_item_that_cannot_play_is_refused_naming_the_difference(
        client: httpx.Client, media: dict) -> None:
    """A channel made for 6 s segments (another deployment's setting) refuses 4 s ones."""
    cid = _channel(client, media)["id"]

    def six_second_channel(ch: Channel) -> None:
        ch.segment_s, ch.target_duration = 6.0, 6
    handles.channel_store().update(cid, six_second_channel)
    refused = client.post(f"/v1/channels/{cid}/items", json={"asset_id": media["phone"]["id"]})
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "segment_duration_mismatch"
    assert "4 s segments" in error["message"] and "6 s segments" in error["message"]
    assert client.get(f"/v1/channels/{cid}").json()["items"] == []


def test_an_item_without_audio_plays_silence_across_the_boundary(
        client: httpx.Client, anon: httpx.Client, media: dict, tmp_path: Path) -> None:
    """The phone recording has no audio: it was packaged with a silent track, so the audio
    of the live stream runs without a gap from it into the next item."""
    assert all("mp4a" in r["codecs"] for r in media["phone"]["renditions"])
    channel = _channel(client, media)
    cid = channel["id"]
    _add(client, cid, media["phone"]["id"])
    _add(client, cid, media["keynote"]["id"])
    client.post(f"/v1/channels/{cid}/start")
    low = _media_url(anon, cid, 1)

    def past_the_boundary() -> list[str] | None:
        found = _segments(anon.get(low).text)
        return found if any(media["keynote"]["id"] in u for u in found) else None
    listed = wait_until(past_the_boundary, timeout=30, interval=0.5, what="the second item")
    phone = [u for u in listed if media["phone"]["id"] in u]
    assert phone
    for url in phone:
        streams = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0",
             url], capture_output=True, text=True, timeout=60)
        assert set(streams.stdout.split()) == {"audio", "video"}, streams.stderr
    wav = tmp_path / "live-audio.wav"
    run = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-live_start_index", "0",
         "-i", low, "-map", "0:a:0", "-t", "7", "-y", str(wav)],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    duration = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
         str(wav)], capture_output=True, text=True, timeout=60).stdout
    assert float(duration) == pytest.approx(7.0, abs=0.3), "audio without a gap"
    client.delete(f"/v1/channels/{cid}")
