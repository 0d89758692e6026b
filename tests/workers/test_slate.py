"""The generated slate: a worker renders the card once, the pipeline packages it, channels
without a slate of their own pick it up."""

from __future__ import annotations

from pathlib import Path

import httpx

from ingest.channels.slate import default_slate_id
from runtime import handles
from tests.conftest import wait_for
from tests.support.wait import wait_until
from workers.slate import render_default_slate


def test_default_slate_is_rendered_once_and_fills_an_empty_channel(
        client: httpx.Client, anon: httpx.Client, worker: Path) -> None:
    storage = handles.storage()
    # The slate is rendered once per deployment: an earlier test of the session (any channel
    # without a slate of its own) may have asked for it already.
    made_before = default_slate_id(storage)
    channel = client.post("/v1/channels", json={"name": "Side stage", "window_s": 30}).json()
    cid = channel["id"]
    if made_before is None:
        assert channel["slate_asset_id"] is None
        early = client.post(f"/v1/channels/{cid}/start")
        assert early.status_code == 409 and early.json()["error"]["code"] == "slate_not_ready"
    else:
        assert channel["slate_asset_id"] in (None, made_before)
    slate_id = wait_until(lambda: default_slate_id(storage), timeout=120, what="a slate record")
    asset = wait_for(client, slate_id, timeout_s=300)
    assert asset["status"] == "ready", asset
    assert [r["height"] for r in asset["renditions"]] == [720, 480, 360]
    assert all("mp4a" in r["codecs"] for r in asset["renditions"])  # silence, not no audio
    assert render_default_slate() == slate_id  # a second run changes nothing
    started = client.post(f"/v1/channels/{cid}/start")
    assert started.status_code == 200, started.text
    assert started.json()["slate_asset_id"] == slate_id
    master = anon.get(f"/live/{cid}.m3u8").text
    media_url = next(line for line in master.splitlines() if line.startswith("http"))

    def listed() -> str | None:
        text = anon.get(media_url).text
        return text if ".ts" in text else None
    text = wait_until(listed, timeout=20, what="slate segments")
    assert slate_id in text
