"""Playlists held by API processes never outlive a change: two API processes (the in-process
one and a uvicorn process of its own, same Redis and bucket, same public URL) both hold an
asset's or a channel's playlists; a change made through one, or by a worker, shows in the
other's very next answer. Nothing waits for a cache to expire."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api import tokens
from api.routes import live, play
from config import get_settings
from ingest.assets.models import Visibility
from ingest.storage import keys
from runtime import handles
from tests.conftest import Stack, upload, wait_for
from tests.support.api_process import api_process
from tests.support.media import make_clip
from tests.support.ports import free_port
from tests.support.wait import wait_until

SRT = "1\n00:00:00,500 --> 00:00:02,000\nWelcome to the main stage.\n"


@pytest.fixture(scope="module")
def other_api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second API process, as `podium up` runs several: its own memory, the same stores."""
    port = free_port()
    log = tmp_path_factory.mktemp("other-api") / "api.log"
    with api_process({**os.environ, **stack.env}, port, log):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def both(api_server: str, other_api: str) -> Iterator[list[httpx.Client]]:
    """Viewers of each API process."""
    with httpx.Client(base_url=api_server, timeout=60) as a, \
            httpx.Client(base_url=other_api, timeout=60) as b:
        yield [a, b]


@pytest.fixture
def asset(client: httpx.Client, worker: Path, media_dir: Path) -> Iterator[str]:
    """A ready public asset of this test alone (deleted afterwards)."""
    clip = make_clip(media_dir / "fresh-320x180.mp4", width=320, height=180, seconds=3)
    asset_id = upload(client, clip, title="fresh", captions="none").json()["id"]
    assert wait_for(client, asset_id, timeout_s=180)["status"] == "ready"
    yield asset_id
    client.delete(f"/v1/assets/{asset_id}")


def _uris(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def _held_everywhere(viewers: list[httpx.Client], path: str) -> str:
    """``path`` fetched until each process answers it from memory (twice the same body)."""
    bodies = set()
    for viewer in viewers:
        for _ in range(3):
            resp = viewer.get(path)
            assert resp.status_code == 200, resp.text
            bodies.add(resp.text)
    assert len(bodies) == 1, "the same public URL: every process renders the same text"
    return bodies.pop()


def test_a_caption_track_shows_at_once_in_every_process(
        client: httpx.Client, both: list[httpx.Client], asset: str) -> None:
    master = _held_everywhere(both, f"/play/{asset}.m3u8")
    assert "TYPE=SUBTITLES" not in master
    put = client.put(f"/v1/assets/{asset}/captions/en", content=SRT,
                     headers={"Content-Type": "text/plain"})
    assert put.status_code == 200, put.text
    for viewer in reversed(both):  # the other process first
        now = viewer.get(f"/play/{asset}.m3u8")
        assert now.status_code == 200 and "TYPE=SUBTITLES" in now.text, now.text
        subs = re.search(r'URI="([^"]+/subs-en\.m3u8[^"]*)"', now.text)
        assert subs is not None, now.text
        assert viewer.get(httpx.URL(subs.group(1)).path).status_code == 200
    removed = client.delete(f"/v1/assets/{asset}/captions/en")
    assert removed.status_code == 204, removed.text
    for viewer in reversed(both):
        assert "TYPE=SUBTITLES" not in viewer.get(f"/play/{asset}.m3u8").text


def test_a_deleted_asset_is_gone_at_once_from_every_process(
        client: httpx.Client, both: list[httpx.Client], asset: str) -> None:
    master = _held_everywhere(both, f"/play/{asset}.m3u8")
    media_path = httpx.URL(_uris(master)[0]).path
    _held_everywhere(both, media_path)
    assert client.delete(f"/v1/assets/{asset}").status_code == 204
    for viewer in reversed(both):
        assert viewer.get(f"/play/{asset}.m3u8").status_code == 404
        assert viewer.get(media_path).status_code == 404


def test_a_private_asset_is_refused_at_once_without_a_token(
        client: httpx.Client, both: list[httpx.Client], asset: str) -> None:
    """Visibility is part of what a process holds; a held answer is never a way around the
    token, and a held answer for one token is not another token's."""
    path = f"/play/{asset}.m3u8"
    master = _held_everywhere(both, path)
    media_path = httpx.URL(_uris(master)[0]).path
    _held_everywhere(both, media_path)
    handles.asset_store().update(asset, lambda a: setattr(a, "visibility", Visibility.PRIVATE))
    first = client.post(f"/v1/assets/{asset}/playback-tokens").json()["token"]
    second = tokens.issue(get_settings().playback_secret, f"asset:{asset}", 900)[0]
    assert first != second
    for viewer in reversed(both):
        refused = viewer.get(path)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "playback_token_required"
        assert viewer.get(media_path).status_code == 403
        for token in (first, second):
            for _ in range(2):  # rendered, then held
                granted = viewer.get(path, params={"token": token})
                assert granted.status_code == 200, granted.text
                assert all(u.endswith(f"?token={token}") for u in _uris(granted.text))
        forged = first.partition(".")[0] + ".forged"
        assert viewer.get(path, params={"token": forged}).status_code == 403
        assert viewer.get(path).status_code == 403


def test_a_playlist_written_after_the_save_is_not_held_over(
        both: list[httpx.Client], asset: str) -> None:
    """A caption change saves the record, then rewrites the playlist (`update`'s ``then``): a
    process that rendered in between held the old text under the new revision, unless the
    revision is renewed once ``then`` is done. So it is."""
    store = handles.asset_store()
    path = f"/play/{asset}.m3u8"
    master = _held_everywhere(both, path)
    key = keys.master_playlist(asset, 0)
    stored = store.storage.get_bytes(key).decode()
    changed = stored.replace("BANDWIDTH=", "BANDWIDTH=1")
    assert changed != stored

    def render_then_rewrite(_: object) -> None:
        for viewer in both:  # render between the save and the rewrite
            assert viewer.get(path).text == master
        store.storage.put_bytes(key, changed.encode(), play.M3U8_TYPE)

    store.update(asset, lambda a: None, then=render_then_rewrite)
    for viewer in both:
        assert "BANDWIDTH=1" in viewer.get(path).text
    store.storage.put_bytes(key, stored.encode(), play.M3U8_TYPE)
    store.touch(asset)  # an object rewritten on its own: a new revision says so
    for viewer in both:
        assert viewer.get(path).text == master


def test_a_held_playlist_is_answered_without_the_record(
        both: list[httpx.Client], asset: str, stack: Stack) -> None:
    """A hit reads one revision from Redis: neither the record (Redis copy or bucket) nor
    the playlist object."""
    store = handles.asset_store()
    path = f"/play/{asset}.m3u8"
    master = _held_everywhere(both, path)
    media_path = httpx.URL(_uris(master)[0]).path
    media = _held_everywhere(both, media_path)
    record_key = keys.asset_record(asset)
    record = store.storage.get_bytes(record_key)
    copy = f"{stack.env['PODIUM_QUEUE_PREFIX']}:asset:{asset}"
    store.storage.delete_keys([record_key, keys.master_playlist(asset, 0)])
    store.redis.delete(copy)
    try:
        for viewer in both:
            assert viewer.get(path).text == master
            assert viewer.get(media_path).text == media
    finally:
        store.storage.put_bytes(record_key, record, "application/json")
        store.touch(asset)
    # the next render reads the record again (the master object is gone: 404)
    assert all(viewer.get(path).status_code == 404 for viewer in both)


def test_a_new_version_plays_at_once_in_every_process(
        client: httpx.Client, both: list[httpx.Client], worker: Path,
        media_dir: Path) -> None:
    first = make_clip(media_dir / "fresh-v0-320x180.mp4", width=320, height=180, seconds=3)
    second = make_clip(media_dir / "fresh-v1-160x90.mp4", width=160, height=90, seconds=3)
    slot = client.post("/v1/uploads", json={"title": "Keynote", "language": "en"}).json()
    put = httpx.put(slot["put_url"], content=first.read_bytes(), timeout=60)
    assert put.status_code == 201, put.text
    asset_id = put.json()["asset_id"]
    def settled(version: int) -> bool:
        """Ready and playing ``version``; the first one also captioned (replacing waits)."""
        body = client.get(f"/v1/assets/{asset_id}").json()
        assert body["status"] != "errored", body
        return (body["status"] == "ready" and body["playing_version"] == version
                and (version > 0 or all(t["status"] != "preparing" for t in body["captions"])))

    try:
        wait_until(lambda: settled(0), timeout=240, interval=0.3, what="version 0, captioned")
        path = f"/play/{asset_id}.m3u8"
        assert "RESOLUTION=320x180" in _held_everywhere(both, path)
        replaced = httpx.put(slot["put_url"], content=second.read_bytes(), timeout=60)
        assert replaced.status_code == 201, replaced.text
        wait_until(lambda: settled(1), timeout=240, interval=0.2, what="version 1 to be ready")
        for viewer in reversed(both):
            now = viewer.get(path)
            assert now.status_code == 200 and "RESOLUTION=160x90" in now.text, now.text
    finally:
        client.delete(f"/v1/assets/{asset_id}")


def test_a_deleted_channel_is_gone_at_once_from_every_process(
        client: httpx.Client, both: list[httpx.Client], asset: str) -> None:
    channel = client.post("/v1/channels", json={"name": "Fresh", "window_s": 30,
                                                "slate_asset_id": asset})
    assert channel.status_code == 201, channel.text
    cid = channel.json()["id"]
    assert client.post(f"/v1/channels/{cid}/items", json={"asset_id": asset}).status_code == 201
    assert client.post(f"/v1/channels/{cid}/start").status_code == 200
    master = _held_everywhere(both, f"/live/{cid}.m3u8")
    media_path = httpx.URL(_uris(master)[0]).path
    for viewer in both:
        for _ in range(3):
            assert viewer.get(media_path).status_code == 200
    assert client.delete(f"/v1/channels/{cid}").status_code == 204
    for viewer in reversed(both):
        assert viewer.get(f"/live/{cid}.m3u8").status_code == 404
        assert viewer.get(media_path).status_code == 404


def test_the_next_live_window_is_ready_before_its_boundary(
        client: httpx.Client, anon: httpx.Client, asset: str) -> None:
    """A held live media playlist has the window after it rendered ahead, and viewers get
    that one from memory once its segment boundary passes."""
    channel = client.post("/v1/channels", json={"name": "Ahead", "window_s": 30,
                                                "slate_asset_id": asset})
    cid = channel.json()["id"]
    assert client.post(f"/v1/channels/{cid}/items", json={"asset_id": asset}).status_code == 201
    assert client.post(f"/v1/channels/{cid}/start").status_code == 200
    try:
        media_path = httpx.URL(_uris(anon.get(f"/live/{cid}.m3u8").text)[0]).path
        first = anon.get(media_path)
        assert first.status_code == 200
        key = next(k for k in live._windows if k[1] == cid)

        def ahead() -> tuple[live.Window, ...] | None:
            anon.get(media_path)  # a hit, which asks for the next window
            held = live._windows.get(key, ())
            return held if (len(held) >= 2 and held[0].ends == held[1].starts
                            and _last(held[1].body) > _last(held[0].body)) else None
        following = wait_until(ahead, timeout=30, what="the next window")[1]
        wait_until(lambda: time.time() >= following.starts + 0.05, timeout=10,
                   what="the boundary")
        served = anon.get(media_path)
        assert served.headers["etag"] == following.etag
        assert served.text == following.body
    finally:
        client.delete(f"/v1/channels/{cid}")


def _last(playlist: str) -> int:
    """The media sequence number after the window's last segment."""
    found = re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", playlist)
    return (int(found.group(1)) if found else 0) + len(_uris(playlist))
