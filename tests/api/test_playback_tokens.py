"""What a viewer's `?token=` may do to playlists: nothing but what a verified token allows.

- A crafted token never reaches a playlist: it cannot inject variants (finding 4).
- Random tokens do not grow the media-playlist cache, which stays in its byte budget (finding 3).
- Presigned segment URLs expire with the playback token (private) or after the short public
  lifetime (finding 13).
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from api import tokens
from api.playlist_cache import PlaylistCache
from api.routes import play
from config import Settings, get_settings
from tests.api.conftest import uris

EVIL = "1900000000.x\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttp://evil.example/x.m3u8"
INJECTIONS = [EVIL, "\r\n#EXT-X-STREAM-INF:BANDWIDTH=1\r\nhttp://evil.example/", '"evil.example',
              "x\n#EXT-X-MEDIA:TYPE=SUBTITLES,URI=\"http://evil.example/s.m3u8\""]


def token(asset_id: str, ttl_s: int = 600) -> str:
    return tokens.issue(get_settings().playback_secret, f"asset:{asset_id}", ttl_s)[0]


def every_playlist(anon: httpx.Client, asset_id: str, raw_token: str | None) -> list[str]:
    """The multivariant playlist and every media playlist it names, as a plain client."""
    params = {"token": raw_token} if raw_token is not None else {}
    master = anon.get(f"/play/{asset_id}.m3u8", params=params)
    assert master.status_code == 200, master.text
    bodies = [master.text]
    for url in uris(master.text):
        resp = httpx.get(url, timeout=30)
        assert resp.status_code == 200, (url, resp.text)
        bodies.append(resp.text)
    return bodies


# --------------------------------------------------------------------------- finding 4


@pytest.mark.parametrize("delivery", ["presign", "proxy"])
def test_a_crafted_token_never_reaches_a_public_playlist(
        anon: httpx.Client, assets: dict[str, str], play_settings: Settings, delivery: str) -> None:
    play_settings.segment_delivery = delivery
    asset_id = assets["public"]
    clean = every_playlist(anon, asset_id, None)
    for crafted in INJECTIONS:
        bodies = every_playlist(anon, asset_id, crafted)
        for body in bodies:
            assert "evil" not in body, body
            assert "token=" not in body, body
        assert bodies[0] == clean[0]
        assert bodies[0].count("#EXT-X-STREAM-INF") == clean[0].count("#EXT-X-STREAM-INF")


def test_a_crafted_token_is_refused_for_a_private_asset(
        anon: httpx.Client, assets: dict[str, str], play_settings: Settings) -> None:
    for crafted in INJECTIONS:
        resp = anon.get(f"/play/{assets['private']}.m3u8", params={"token": crafted})
        assert resp.status_code == 403, resp.text
        assert "evil" not in resp.text
        assert resp.json()["error"]["code"] == "playback_token_required"


@pytest.mark.parametrize("delivery", ["presign", "proxy"])
def test_a_verified_token_is_carried_url_encoded(
        anon: httpx.Client, assets: dict[str, str], play_settings: Settings, delivery: str) -> None:
    play_settings.segment_delivery = delivery
    good = token(assets["private"])
    bodies = every_playlist(anon, assets["private"], good)
    for url in uris(bodies[0]):
        assert parse_qs(urlsplit(url).query) == {"token": [good]}
        assert url.endswith(f"?token={good}")
    if delivery == "proxy":
        for body in bodies[1:]:
            assert all(u.endswith(f"?token={good}") for u in uris(body))


# --------------------------------------------------------------------------- finding 3


def test_random_tokens_do_not_grow_the_cache(anon: httpx.Client, assets: dict[str, str],
                                             play_settings: Settings) -> None:
    asset_id = assets["public"]
    media_url = uris(every_playlist(anon, asset_id, None)[0])[0]
    cache = play.media_cache()
    entries, size = len(cache), cache.nbytes
    assert entries >= 1
    first = httpx.get(media_url).text
    for _ in range(200):
        resp = httpx.get(media_url, params={"token": secrets.token_urlsafe(24)})
        assert resp.status_code == 200
        assert resp.text == first  # the same answer, so the same entry
    assert len(cache) == entries
    assert cache.nbytes == size


def test_the_cache_keeps_to_its_byte_budget(anon: httpx.Client, assets: dict[str, str],
                                            play_settings: Settings,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    small: PlaylistCache[play.CacheKey] = PlaylistCache(8 * 1024)
    monkeypatch.setattr(play, "_media_cache", small)
    asset_id = assets["private"]
    media_path = urlsplit(uris(every_playlist(anon, asset_id, token(asset_id))[0])[0]).path
    for ttl in range(600, 660):  # 60 valid tokens, each with its own expiry
        resp = anon.get(media_path, params={"token": token(asset_id, ttl)})
        assert resp.status_code == 200, resp.text
        assert small.nbytes <= small.budget_bytes
    assert 0 < len(small) < 60


# --------------------------------------------------------------------------- finding 13


def amz_expires(playlist: str) -> set[int]:
    return {int(parse_qs(urlsplit(u).query)["X-Amz-Expires"][0]) for u in uris(playlist)}


def test_presigned_urls_expire_with_the_token(anon: httpx.Client, assets: dict[str, str],
                                              play_settings: Settings) -> None:
    short = token(assets["private"], ttl_s=120)
    bodies = every_playlist(anon, assets["private"], short)
    expiries = set().union(*(amz_expires(b) for b in bodies[1:]))
    assert expiries and all(100 <= e <= 120 for e in expiries), expiries


def test_public_presigned_urls_are_short_lived(anon: httpx.Client, assets: dict[str, str],
                                               play_settings: Settings) -> None:
    play_settings.presign_ttl_s = 1800
    bodies = every_playlist(anon, assets["public"], None)
    assert set().union(*(amz_expires(b) for b in bodies[1:])) == {1800}


def test_a_private_poster_is_kept_out_of_shared_caches(client: httpx.Client, anon: httpx.Client,
                                                       assets: dict[str, str]) -> None:
    """The producer's poster request has no token in its URL: a shared cache (CDN, proxy)
    that stored it would hand the private frame to anyone asking for the same URL."""
    private, public = assets["private"], assets["public"]
    resp = client.get(f"/v1/assets/{private}/poster.jpg")
    assert resp.status_code == 200 and resp.content[:2] == b"\xff\xd8"
    assert "private" in resp.headers["cache-control"]
    assert anon.get(f"/v1/assets/{private}/poster.jpg").status_code == 403
    with_token = anon.get(f"/v1/assets/{private}/poster.jpg", params={"token": token(private)})
    assert with_token.status_code == 200 and "private" in with_token.headers["cache-control"]
    shared = anon.get(f"/v1/assets/{public}/poster.jpg")
    assert shared.status_code == 200 and "private" not in shared.headers["cache-control"]


def test_a_private_track_is_kept_out_of_shared_caches(client: httpx.Client, anon: httpx.Client,
                                                      assets: dict[str, str]) -> None:
    """As for the poster: the producer's caption download carries no token in its URL."""
    private = assets["private"]
    srt = b"1\n00:00:00,500 --> 00:00:02,000\nBonjour.\n\n"
    put = client.put(f"/v1/assets/{private}/captions/fr", content=srt,
                     headers={"Content-Type": "text/plain"})
    assert put.status_code == 200, put.text
    try:
        for suffix in ("vtt", "srt"):
            resp = client.get(f"/v1/assets/{private}/captions/fr.{suffix}")
            assert resp.status_code == 200 and "Bonjour." in resp.text
            assert "private" in resp.headers["cache-control"]
        assert anon.get(f"/v1/assets/{private}/captions/fr.vtt").status_code == 403
    finally:
        client.delete(f"/v1/assets/{private}/captions/fr")
