"""A speaker replaces the video through the upload link: the new file is the asset's next
version, stored apart; the old one plays until the new one is ready, then /play switches, and
a channel on air with the asset keeps serving the segments it compiled."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from ingest.storage import keys
from runtime import handles
from tests.conftest import Stack, upload, wait_for
from tests.support.media import make_clip
from tests.support.wait import wait_until


def _segments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def _settled(client: httpx.Client, asset_id: str, version: int) -> dict:
    """The asset once ``version`` is ready and no caption track is being made."""
    def done() -> dict | None:
        body: dict = client.get(f"/v1/assets/{asset_id}").json()
        busy = any(t["status"] == "preparing" for t in body["captions"])
        if body["status"] == "errored":
            raise AssertionError(body)
        return body if body["status"] == "ready" and body["version"] == version and not busy \
            else None
    found: dict = wait_until(done, timeout=240, interval=0.3, what=f"version {version} ready")
    return found


def _fetch_all(anon: httpx.Client, master_url: str) -> tuple[str, list[str]]:
    """The master playlist's text and every video segment URL it leads to (each fetched)."""
    master = anon.get(master_url)
    assert master.status_code == 200, master.text
    urls = []
    for media_url in _segments(master.text):
        if "/subs-" in media_url:
            continue
        media = anon.get(media_url)
        assert media.status_code == 200, media.text
        urls.extend(_segments(media.text))
    for url in urls:
        assert httpx.get(url, timeout=30).status_code == 200, url
    return master.text, urls


def test_a_replaced_video_plays_on_until_the_new_version_is_ready(
        client: httpx.Client, anon: httpx.Client, stack: Stack, worker: Path,
        media_dir: Path) -> None:
    first = make_clip(media_dir / "replace-v0-320x180.mp4", width=320, height=180, seconds=4)
    second = make_clip(media_dir / "replace-v1-160x90.mp4", width=160, height=90, seconds=6)
    slot = client.post("/v1/uploads", json={"title": "Keynote", "language": "en"}).json()
    put = httpx.put(slot["put_url"], content=first.read_bytes(), timeout=60)
    assert put.status_code == 201, put.text
    asset_id = put.json()["asset_id"]
    ready = _settled(client, asset_id, 0)
    master_url = ready["playback"]["hls"]
    old_master, old_segments = _fetch_all(anon, master_url)
    assert "RESOLUTION=320x180" in old_master
    assert all(f"/assets/{asset_id}/hls/" in urlsplit(u).path for u in old_segments)

    # a channel on air with the asset: it keeps what it compiled
    slate_clip = make_clip(media_dir / "replace-slate-160x90.mp4", width=160, height=90,
                           seconds=4)
    slate = wait_for(client, upload(client, slate_clip, title="slate", captions="none")
                     .json()["id"])
    channel = client.post("/v1/channels", json={"name": "Replace", "window_s": 30,
                                                "slate_asset_id": slate["id"]}).json()
    cid = channel["id"]
    assert client.post(f"/v1/channels/{cid}/items",
                       json={"asset_id": asset_id}).status_code == 201
    assert client.post(f"/v1/channels/{cid}/start").json()["state"] == "on_air"
    live = _segments(anon.get(f"/live/{cid}.m3u8").text)[0]

    replaced = httpx.put(slot["put_url"], content=second.read_bytes(), timeout=60)
    assert replaced.status_code == 201, replaced.text
    assert replaced.json()["asset_id"] == asset_id and replaced.json()["version"] == 1
    assert handles.storage().exists(keys.source(asset_id, 1))
    assert handles.storage().exists(keys.source(asset_id, 0)), "the old source stays"
    during = client.get(f"/v1/assets/{asset_id}").json()
    assert during["version"] == 1 and during["playing_version"] == 0
    assert during["status"] in ("waiting", "preparing")
    assert during["playback"]["hls"] == master_url
    # while the new version is prepared, viewers get the old one, whole
    assert _fetch_all(anon, master_url) == (old_master, old_segments)
    again = httpx.put(slot["put_url"], content=second.read_bytes(), timeout=60)
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "asset_processing"

    done = _settled(client, asset_id, 1)
    assert done["playing_version"] == 1 and done["duration_s"] > 5
    new_master, new_segments = _fetch_all(anon, master_url)
    assert "RESOLUTION=160x90" in new_master and "320x180" not in new_master
    assert all(f"/assets/{asset_id}/v1/hls/" in urlsplit(u).path for u in new_segments)
    for url in old_segments:  # a viewer who loaded the old playlist can finish it
        assert httpx.get(url, timeout=30).status_code == 200

    # the channel still plays version 0: its segments, all fetchable
    def listed() -> list[str] | None:
        found = _segments(anon.get(live).text)
        return found if any(asset_id in u for u in found) else None
    playing = [u for u in wait_until(listed, timeout=30, what="the item's segments")
               if asset_id in u]
    assert playing and all(re.search(rf"/assets/{asset_id}/hls/\d+p/seg-", urlsplit(u).path)
                           for u in playing), playing
    for url in playing:
        assert httpx.get(url, timeout=30).status_code == 200

    # locked: no further version
    assert client.post(f"/v1/uploads/{slot['id']}/lock").status_code == 200
    locked = httpx.put(slot["put_url"], content=second.read_bytes(), timeout=60)
    assert locked.status_code == 409 and locked.json()["error"]["code"] == "upload_locked"
    client.delete(f"/v1/channels/{cid}")
    assert client.delete(f"/v1/assets/{asset_id}").status_code == 204
    assert not list(handles.storage().list_keys(keys.asset_prefix(asset_id))), "all versions gone"
