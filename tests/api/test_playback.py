"""`/play` as a viewer sees it: public and private assets, every delivery mode, bad names."""

from __future__ import annotations

import httpx
import pytest

from api import tokens
from config import Settings, get_settings
from ingest.assets.models import Asset, AssetStatus
from ingest.hls.playlists import parse_media_segments
from ingest.storage import keys
from runtime import handles
from tests.api.conftest import uris

M3U8 = "application/vnd.apple.mpegurl"
CDN = "https://cdn.example.test/podium"


def assert_error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json()["error"]["code"] == code, resp.text


def token_for(client: httpx.Client, asset_id: str) -> str:
    resp = client.post(f"/v1/assets/{asset_id}/playback-tokens")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert set(body) == {"token", "expires_at"}
    return str(body["token"])


def media_playlists(anon: httpx.Client, asset_id: str, query: str = "") -> dict[str, str]:
    """Every media playlist named by the asset's multivariant playlist, fetched anonymously."""
    master = anon.get(f"/play/{asset_id}.m3u8{query}")
    assert master.status_code == 200, master.text
    assert master.headers["content-type"].startswith(M3U8)
    assert master.text.startswith("#EXTM3U")
    out = {}
    for url in uris(master.text):
        assert url.startswith("http://") or url.startswith("https://"), url
        resp = httpx.get(url, timeout=30)  # a plain client: no header, no cookie, no base URL
        assert resp.status_code == 200, (url, resp.text)
        assert resp.headers["content-type"].startswith(M3U8)
        assert "#EXT-X-ENDLIST" in resp.text
        out[url] = resp.text
    assert out
    return out


def fetch_segments(playlist: str) -> int:
    fetched = 0
    for url in uris(playlist):
        assert url.startswith("http"), url
        resp = httpx.get(url, timeout=30)
        assert resp.status_code == 200, url
        assert resp.content[:1] == b"\x47", "not an MPEG-TS segment"
        assert len(resp.content) % 188 == 0
        fetched += 1
    return fetched


def test_public_asset_plays_without_credentials(anon: httpx.Client, api_server: str,
                                                assets: dict[str, str],
                                                play_settings: Settings) -> None:
    asset_id = assets["public"]
    playlists = media_playlists(anon, asset_id)
    for url, text in playlists.items():
        assert url.startswith(f"{api_server}/play/{asset_id}/")
        segments = parse_media_segments(text)
        assert sum(s.duration for s in segments) == pytest.approx(3, abs=0.3)
        assert all("X-Amz-Signature=" in u for u in uris(text)), "presigned by default"
        assert fetch_segments(text) == len(segments)


def test_private_asset_needs_a_playback_token(client: httpx.Client, anon: httpx.Client,
                                              assets: dict[str, str],
                                              play_settings: Settings) -> None:
    asset_id = assets["private"]
    assert_error(anon.get(f"/play/{asset_id}.m3u8"), 403, "playback_token_required")
    token = token_for(client, asset_id)
    playlists = media_playlists(anon, asset_id, f"?token={token}")
    for url, text in playlists.items():
        assert url.endswith(f"?token={token}")
        assert fetch_segments(text) >= 1
        bare = url.split("?", 1)[0]
        assert_error(httpx.get(bare), 403, "playback_token_required")


def test_bad_tokens_are_refused(client: httpx.Client, anon: httpx.Client,
                                assets: dict[str, str]) -> None:
    asset_id = assets["private"]
    secret = get_settings().playback_secret
    expired, _ = tokens.issue(secret, f"asset:{asset_id}", -10)
    good = token_for(client, asset_id)
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    other, _ = tokens.issue(secret, f"asset:{assets['public']}", 600)
    wrong_secret, _ = tokens.issue("not-the-secret", f"asset:{asset_id}", 600)
    for bad in (expired, forged, other, wrong_secret, "garbage", "1.x", "é"):
        assert_error(anon.get(f"/play/{asset_id}.m3u8", params={"token": bad}),
                     403, "playback_token_required")
    assert anon.get(f"/play/{asset_id}.m3u8", params={"token": good}).status_code == 200


def test_playback_tokens_need_the_producer_and_a_known_asset(
        client: httpx.Client, anon: httpx.Client, assets: dict[str, str]) -> None:
    assert anon.post(f"/v1/assets/{assets['private']}/playback-tokens").status_code == 401
    assert_error(client.post("/v1/assets/as-0123456789abcdef/playback-tokens"),
                 404, "asset_not_found")


def test_asset_not_ready_is_404(anon: httpx.Client, api_server: str) -> None:
    store = handles.asset_store()
    asset = store.create(Asset(id="as-00000000000abcde", title="not ready yet"))
    try:
        assert asset.status == AssetStatus.WAITING
        assert_error(anon.get(f"/play/{asset.id}.m3u8"), 404, "asset_not_ready")
        assert_error(anon.get(f"/play/{asset.id}/360p.m3u8"), 404, "asset_not_ready")
    finally:
        store.delete(asset.id)
    assert_error(anon.get("/play/as-0123456789abcdef.m3u8"), 404, "asset_not_found")
    assert_error(anon.get("/play/not-an-id.m3u8"), 404, "asset_not_found")


def test_proxy_delivery_streams_segments_through_the_api(
        client: httpx.Client, anon: httpx.Client, api_server: str, assets: dict[str, str],
        play_settings: Settings) -> None:
    get_settings().segment_delivery = "proxy"
    for kind in ("public", "private"):
        asset_id = assets[kind]
        query = f"?token={token_for(client, asset_id)}" if kind == "private" else ""
        for text in media_playlists(anon, asset_id, query).values():
            segs = uris(text)
            assert segs
            for url in segs:
                assert url.startswith(f"{api_server}/play/{asset_id}/"), url
                assert url.endswith(query)
            assert fetch_segments(text) == len(segs)
            resp = httpx.get(segs[0])
            assert resp.headers["content-length"] == str(len(resp.content))
            assert ("private" in resp.headers["cache-control"]) == (kind == "private")
            if kind == "private":
                assert_error(httpx.get(segs[0].split("?", 1)[0]), 403,
                             "playback_token_required")


def test_segment_route_is_closed_unless_proxying(anon: httpx.Client,
                                                 assets: dict[str, str],
                                                 play_settings: Settings) -> None:
    asset_id = assets["public"]
    name = handles.asset_store().get(asset_id).renditions[0].name
    assert_error(anon.get(f"/play/{asset_id}/{name}/seg-00000.ts"), 404, "segment_not_found")


def test_cdn_delivery_lists_urls_under_the_cdn_base(anon: httpx.Client,
                                                    assets: dict[str, str],
                                                    play_settings: Settings) -> None:
    settings = get_settings()
    settings.segment_delivery, settings.cdn_base_url = "cdn", CDN + "/"
    asset_id = assets["public"]
    master = anon.get(f"/play/{asset_id}.m3u8").text
    for url in uris(master):
        rendition = url.rsplit("/", 1)[1].removesuffix(".m3u8")
        text = anon.get(url).text
        segs = uris(text)
        assert segs
        for seg in segs:
            assert seg.startswith(f"{CDN}/{keys.hls_prefix(asset_id)}{rendition}/seg-"), seg
            assert "//assets" not in seg
            key = seg.removeprefix(CDN + "/")
            assert handles.storage().exists(key), "the CDN path maps onto the object key"


def test_cdn_delivery_keeps_private_segments_signed(client: httpx.Client, anon: httpx.Client,
                                                    assets: dict[str, str],
                                                    play_settings: Settings) -> None:
    """A CDN serves whoever asks: a private asset's segments never get a bare CDN URL."""
    settings = get_settings()
    settings.segment_delivery, settings.cdn_base_url = "cdn", CDN
    asset_id = assets["private"]
    playlists = media_playlists(anon, asset_id, f"?token={token_for(client, asset_id)}")
    for text in playlists.values():
        segs = uris(text)
        assert segs
        for seg in segs:
            assert not seg.startswith(CDN), seg
            assert "X-Amz-Signature=" in seg, seg
        assert fetch_segments(text) == len(segs)


@pytest.mark.parametrize("mode", ["presign", "cdn", "proxy"])
def test_playlists_point_only_into_the_hls_tree(client: httpx.Client, anon: httpx.Client,
                                                assets: dict[str, str], play_settings: Settings,
                                                mode: str) -> None:
    """Whatever the delivery, no URI names the source, the record or caption data."""
    settings = get_settings()
    settings.segment_delivery, settings.cdn_base_url = mode, CDN
    for kind in ("public", "private"):
        asset_id = assets[kind]
        query = f"?token={token_for(client, asset_id)}" if kind == "private" else ""
        master = anon.get(f"/play/{asset_id}.m3u8{query}").text
        for text in [master, *media_playlists(anon, asset_id, query).values()]:
            for uri in uris(text):
                path = httpx.URL(uri).path
                assert "/source/" not in path and not path.endswith("asset.json"), uri
                assert "/captions/" not in path, uri
                if uri.startswith(CDN):
                    assert path.startswith(f"/podium/{keys.hls_prefix(asset_id)}"), uri


@pytest.mark.parametrize("path", [
    "/play/{id}/..%2F..%2Fasset.json.m3u8",
    "/play/{id}/%2E%2E.m3u8",
    "/play/{id}/.hidden.m3u8",
    "/play/{id}/..%2Fsource%2Foriginal.m3u8",
    "/play/{id}/{r}%2F..%2F..%2Fasset.json.m3u8",
    "/play/{id}/{r}/..%2F..%2Fasset.json",
    "/play/{id}/{r}/%2E%2E",
    "/play/{id}/%2E%2E/asset.json",
    "/play/{id}/{r}/..%5C..%5Casset.json",
    "/play/..%2Fassets%2F{id}%2Fasset.json.m3u8",
    "/play/{id}/master.m3u8",
    "/play/{id}/nope.m3u8",
])
def test_path_traversal_is_404(anon: httpx.Client, assets: dict[str, str], play_settings: Settings,
                               path: str) -> None:
    get_settings().segment_delivery = "proxy"  # the segment route is open in this mode
    asset_id = assets["public"]
    rendition = handles.asset_store().get(asset_id).renditions[0].name
    resp = anon.get(path.format(id=asset_id, r=rendition))
    assert resp.status_code == 404, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert b"ftyp" not in resp.content and b'"source"' not in resp.content


def test_the_multivariant_playlist_is_rendered_once_and_answers_304(
        anon: httpx.Client, assets: dict[str, str], play_settings: Settings) -> None:
    """/play/{id}.m3u8 is reused per record change (no storage read while it holds), carries
    an ETag, answers 304 to a client that has it, and follows a change of the record."""
    asset_id = assets["public"]
    store = handles.asset_store()
    key = keys.master_playlist(asset_id, store.get(asset_id).version)
    stored = store.storage.get_bytes(key)
    first = anon.get(f"/play/{asset_id}.m3u8")
    assert first.status_code == 200 and first.headers["etag"].startswith('"')
    again = anon.get(f"/play/{asset_id}.m3u8", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    media_url = uris(first.text)[0]
    media = anon.get(media_url)
    assert anon.get(media_url, headers={"If-None-Match": media.headers["etag"]}
                    ).status_code == 304
    try:
        store.storage.delete_keys([key])
        cached = anon.get(f"/play/{asset_id}.m3u8")
        assert cached.status_code == 200 and cached.text == first.text, "served from memory"
        store.update(asset_id, lambda a: None)  # any change of the record renders it again
        assert anon.get(f"/play/{asset_id}.m3u8").status_code == 404
    finally:
        store.storage.put_bytes(key, stored, "application/vnd.apple.mpegurl")
    assert anon.get(f"/play/{asset_id}.m3u8").text == first.text
