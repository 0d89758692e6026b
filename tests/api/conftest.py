"""Fixtures of the playback tests (`/play`, playback tokens): ready assets and delivery settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.routes import play
from config import Settings, get_settings
from tests.conftest import Stack, upload, wait_for
from tests.support.media import make_clip


@pytest.fixture(scope="module")
def assets(api_server: str, stack: Stack, worker: Path,
           media_dir: Path) -> Iterator[dict[str, str]]:
    """One public and one private asset, both ready (deleted after the module)."""
    clip = make_clip(media_dir / "play-320x180.mp4", width=320, height=180, seconds=3)
    with httpx.Client(base_url=api_server, timeout=60,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as c:
        public = upload(c, clip, title="public").json()["id"]
        private = upload(c, clip, title="private", visibility="private").json()["id"]
        for asset_id in (public, private):
            assert wait_for(c, asset_id, timeout_s=120)["status"] == "ready"
        yield {"public": public, "private": private}
        for asset_id in (public, private):
            c.delete(f"/v1/assets/{asset_id}")


@pytest.fixture
def play_settings() -> Iterator[Settings]:
    """The in-process API's settings, for a test to change segment delivery, the CDN base or
    the presign lifetime; restored afterwards. Media playlists are cached per (asset,
    rendition, expiry), so the cache is emptied before and after."""
    settings = get_settings()
    saved = (settings.segment_delivery, settings.cdn_base_url, settings.presign_ttl_s)
    play.media_cache().clear()
    yield settings
    settings.segment_delivery, settings.cdn_base_url, settings.presign_ttl_s = saved
    play.media_cache().clear()


def uris(playlist: str) -> list[str]:
    """The URI lines of a playlist."""
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]
