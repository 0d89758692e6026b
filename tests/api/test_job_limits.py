"""Per-key limit on work in flight: the N+1th upload of one API key is refused with 429
`too_many_jobs` before any of its bytes are stored, and other keys are not affected."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from config import get_settings
from ingest.assets import quotas
from runtime import handles
from tests.conftest import Stack, upload
from tests.support.media import make_clip
from workers import pipeline

LIMIT = 2


@pytest.fixture
def limited_key(api_server: str, stack: Stack) -> Iterator[str]:
    """A second producer key with a limit of LIMIT, on queues no worker takes (assets stay
    `waiting`), then everything is put back."""
    settings = get_settings()
    saved = (settings.queue_prefix, settings.api_keys, settings.max_active_assets_per_key)
    key = secrets.token_urlsafe(16)
    settings.queue_prefix = prefix = f"{saved[0]}quota{secrets.token_hex(2)}"
    settings.api_keys = f"{saved[1]},{key}"
    settings.max_active_assets_per_key = LIMIT
    yield key
    store = handles.asset_store()
    for raw in store.redis.zrange(f"{prefix}:assets", 0, -1):  # type: ignore[union-attr]
        store.delete(raw.decode())
    pipeline.queue(pipeline.media_queue_name(), store.redis).empty()
    for k in store.redis.scan_iter(match=f"{prefix}*"):
        store.redis.delete(k)
    settings.queue_prefix, settings.api_keys, settings.max_active_assets_per_key = saved


def test_uploads_beyond_the_keys_limit_are_refused_before_storing(
        api_server: str, stack: Stack, limited_key: str, media_dir: Path) -> None:
    clip = make_clip(media_dir / "limits-clip.mp4", seconds=1)
    storage = handles.storage()
    with httpx.Client(base_url=api_server, timeout=60,
                      headers={"Authorization": f"Bearer {limited_key}"}) as mine, \
            httpx.Client(base_url=api_server, timeout=60,
                         headers={"Authorization": f"Bearer {stack.api_key}"}) as other:
        first = [upload(mine, clip, title=f"in flight {i}") for i in range(LIMIT)]
        assert [r.status_code for r in first] == [202] * LIMIT, [r.text for r in first]
        assert {r.json()["status"] for r in first} == {"waiting"}

        stored = set(storage.list_keys("assets/"))
        refused = upload(mine, clip, title="one too many")
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "too_many_jobs"
        assert set(storage.list_keys("assets/")) == stored, "nothing of it was stored"

        # another key has its own count
        assert upload(other, clip, title="someone else").status_code == 202
        # a slot comes back when one of the key's assets is no longer in flight
        assert mine.delete(f"/v1/assets/{first[0].json()['id']}").status_code == 204
        assert upload(mine, clip, title="now there is room").status_code == 202
        assert upload(mine, clip, title="full again").status_code == 429


def test_an_upload_slot_counts_against_the_limit_of_the_key_that_made_it(
        api_server: str, stack: Stack, limited_key: str, media_dir: Path) -> None:
    """A slot's asset belongs to the slot's creator: the speaker's upload is refused (429)
    before any byte is stored while that key is at its limit, and once admitted its asset
    carries the key's owner (so the transcode limit applies to it too)."""
    clip = make_clip(media_dir / "limits-slot-clip.mp4", seconds=1)
    storage = handles.storage()
    with httpx.Client(base_url=api_server, timeout=60,
                      headers={"Authorization": f"Bearer {limited_key}"}) as mine:
        slot = mine.post("/v1/uploads", json={"title": "Speaker", "language": "en"})
        assert slot.status_code == 201, slot.text
        put_url = slot.json()["put_url"]
        first = mine.put(put_url, content=clip.read_bytes())  # the link needs no key
        assert first.status_code == 201, first.text
        asset = handles.asset_store().get(first.json()["asset_id"])
        assert asset.owner == quotas.owner_of(limited_key)
        assert [upload(mine, clip, title=f"in flight {i}").status_code
                for i in range(LIMIT - 1)] == [202] * (LIMIT - 1)

        other_slot = mine.post("/v1/uploads", json={"title": "Another", "language": "en"})
        stored = set(storage.list_keys("assets/"))
        with httpx.Client(timeout=60) as speaker:
            tus = speaker.post(other_slot.json()["tus_endpoint"], headers={
                "Tus-Resumable": "1.0.0", "Upload-Length": str(clip.stat().st_size)})
            assert tus.status_code == 429, tus.text
            assert tus.json()["error"]["code"] == "too_many_jobs"
            put = speaker.put(other_slot.json()["put_url"], content=clip.read_bytes())
            assert put.status_code == 429, put.text
        assert set(storage.list_keys("assets/")) == stored, "nothing of it was stored"
