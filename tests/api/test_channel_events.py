"""`channel.item_started` through the webhooks, and the as-run log: an API and a worker of
their own (private destinations allowed, see tests/api/test_webhooks.py), a real receiver."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import httpx

from tests.api import test_webhooks
from tests.api.test_webhooks import create
from tests.conftest import upload, wait_for
from tests.support.media import make_clip
from tests.support.receiver import Receiver, Route
from tests.support.wait import wait_until
from workers.channels import record_as_run

# the webhook tests' own API + worker (private destinations allowed) and receiver
hooks_api = test_webhooks.hooks_api
hooks_client = test_webhooks.hooks_client
rx = test_webhooks.rx


def test_item_starts_are_announced_and_logged(client: httpx.Client, hooks_client: httpx.Client,
                                              rx: Receiver, worker: Path,
                                              media_dir: Path) -> None:
    clip = make_clip(media_dir / "events-320x180.mp4", width=320, height=180, seconds=5)
    ids = [upload(client, clip, title=f"part {n}", captions="none").json()["id"]
           for n in (1, 2)]
    for asset_id in ids:
        assert wait_for(client, asset_id)["status"] == "ready"
    create(hooks_client, rx, "/items", Route(fail_first=1), events=["channel.item_started"])
    channel = hooks_client.post("/v1/channels", json={"name": "Events", "window_s": 30,
                                                      "slate_asset_id": ids[0]}).json()
    cid = channel["id"]
    items = []
    for asset_id in ids:
        body = hooks_client.post(f"/v1/channels/{cid}/items", json={"asset_id": asset_id})
        items.append(body.json()["items"][-1]["id"])
    assert hooks_client.post(f"/v1/channels/{cid}/start").status_code == 200

    def started() -> list[str] | None:
        seen = [r.payload["data"]["item_id"] for r in rx.at("/items")
                if r.answered < 300 and r.verified]
        return seen if len(seen) >= 2 else None
    # the second item starts ~5 s in: the as-run job was scheduled for that instant
    assert wait_until(started, timeout=150, what="two item starts delivered") == items
    payload = rx.at("/items")[-1].payload
    assert payload["type"] == "channel.item_started"
    assert payload["data"]["channel_id"] == cid and payload["data"]["asset_id"] == ids[1]
    as_run = hooks_client.get(f"/v1/channels/{cid}/as-run").json()
    assert [e["item_id"] for e in as_run["entries"]] == items
    assert as_run["entries"][0]["ended_at"] is not None
    assert as_run["states"][items[0]] == "played"


def test_an_as_run_job_that_runs_early_waits_for_its_item(
        client: httpx.Client, assets: dict[str, str]) -> None:
    """A job running just before the item it was scheduled for (a scheduler that rounds, a
    clock a little behind) records that item's start itself: it cannot queue itself again for
    the same instant while it is still running."""
    asset = assets["public"]
    cid = client.post("/v1/channels", json={"name": "Early", "window_s": 30,
                                            "slate_asset_id": asset}).json()["id"]
    for _ in range(2):
        assert client.post(f"/v1/channels/{cid}/items", json={"asset_id": asset}).is_success
    items = [i["id"] for i in client.get(f"/v1/channels/{cid}").json()["items"]]
    try:
        assert client.post(f"/v1/channels/{cid}/start").status_code == 200
        schedule = client.get(f"/v1/channels/{cid}/schedule").json()
        second = next(s for s in schedule if s["item_id"] == items[1])
        starts = datetime.fromisoformat(second["starts_at"]).timestamp()
        wait_until(lambda: time.time() >= starts - 0.8 or None, timeout=60,
                   what="just before the second item")
        record_as_run(cid)
        as_run = client.get(f"/v1/channels/{cid}/as-run").json()
        assert [e["item_id"] for e in as_run["entries"]][:2] == items
    finally:
        client.post(f"/v1/channels/{cid}/stop")
        client.delete(f"/v1/channels/{cid}")
