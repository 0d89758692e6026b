"""`/v1/uploads` through the real API, Redis and S3: slots, links, listing, cancel, lock, expiry,
and `Idempotency-Key` on slot and asset creation."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ingest.storage import keys
from runtime import handles
from tests.conftest import Stack, upload
from tests.support.media import make_clip
from tests.support.wait import wait_until

SLOT = {"title": "Keynote", "speaker": "Ada Lovelace", "language": "en"}


def create_slot(client: httpx.Client, **extra: object) -> dict[str, object]:
    resp = client.post("/v1/uploads", json={**SLOT, **extra})
    assert resp.status_code == 201, resp.text
    body: dict[str, object] = resp.json()
    return body


def token_of(url: object) -> str:
    return parse_qs(urlsplit(str(url)).query)["token"][0]


def stored_slot(slot_id: str) -> dict[str, object]:
    record: dict[str, object] = json.loads(handles.storage().get_bytes(keys.upload_slot(slot_id)))
    return record


def test_create_answers_201_with_three_links_carrying_one_token(client: httpx.Client,
                                                                stack: Stack) -> None:
    before = datetime.now(UTC)
    body = create_slot(client, max_duration_s=60, expires_in_s=3600)
    assert body["status"] == "waiting"
    assert body["asset_id"] is None
    slot_id = str(body["id"])
    assert keys.is_valid_id(slot_id) and slot_id.startswith("up-")
    base = stack.api_url
    assert str(body["url"]).startswith(f"{base}/u/{slot_id}?token=")
    assert str(body["tus_endpoint"]).startswith(f"{base}/u/{slot_id}/tus?token=")
    assert str(body["put_url"]).startswith(f"{base}/u/{slot_id}/file?token=")
    assert len({token_of(body[k]) for k in ("url", "tus_endpoint", "put_url")}) == 1
    expires = datetime.fromisoformat(str(body["expires_at"]))
    assert timedelta(seconds=3590) < expires - before < timedelta(seconds=3610)
    # the record is durable in the bucket, not only in Redis
    assert stored_slot(slot_id)["title"] == "Keynote"
    assert client.get(f"/v1/uploads/{slot_id}").json()["status"] == "waiting"


def test_no_asset_exists_before_the_upload(client: httpx.Client) -> None:
    before = {a["id"] for a in client.get("/v1/assets", params={"limit": 200}).json()["items"]}
    create_slot(client)
    after = {a["id"] for a in client.get("/v1/assets", params={"limit": 200}).json()["items"]}
    assert after == before


@pytest.mark.parametrize(("body", "code"), [
    ({"speaker": "x"}, "invalid_request"),
    ({**SLOT, "language": "english please"}, "invalid_language"),
    ({**SLOT, "max_duration_s": 10**9}, "invalid_max_duration"),
    ({**SLOT, "expires_in_s": 0}, "invalid_request"),
    ({**SLOT, "surprise": 1}, "invalid_request"),
    ({**SLOT, "title": "   "}, "invalid_field"),
])
def test_bad_slot_fields_get_a_specific_4xx(client: httpx.Client, body: dict[str, object],
                                            code: str) -> None:
    resp = client.post("/v1/uploads", json=body)
    assert 400 <= resp.status_code < 500, resp.text
    assert resp.json()["error"]["code"] == code


def test_slots_need_the_producer_key(anon: httpx.Client, client: httpx.Client) -> None:
    slot = create_slot(client)
    assert anon.post("/v1/uploads", json=SLOT).status_code == 401
    assert anon.get("/v1/uploads").status_code == 401
    assert anon.get(f"/v1/uploads/{slot['id']}").status_code == 401
    assert anon.post(f"/v1/uploads/{slot['id']}/cancel").status_code == 401


def test_list_pages_newest_first(client: httpx.Client) -> None:
    made = [str(create_slot(client)["id"]) for _ in range(3)]
    first = client.get("/v1/uploads", params={"limit": 2}).json()
    assert [s["id"] for s in first["items"]] == made[::-1][:2]
    second = client.get("/v1/uploads", params={"limit": 2,
                                               "cursor": first["next_cursor"]}).json()
    assert second["items"][0]["id"] == made[0]


def test_unknown_slot_is_404(client: httpx.Client) -> None:
    for slot_id in ("up-0000000000000000", "nope", "as-0000000000000000"):
        resp = client.get(f"/v1/uploads/{slot_id}")
        assert resp.status_code == 404
        assert resp.json()["error"]["code"] == "upload_not_found"


def test_cancel_is_final_and_lock_is_kept(client: httpx.Client) -> None:
    slot_id = create_slot(client)["id"]
    locked = client.post(f"/v1/uploads/{slot_id}/lock").json()
    assert locked["locked"] is True and locked["status"] == "waiting"
    cancelled = client.post(f"/v1/uploads/{slot_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/v1/uploads/{slot_id}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    assert stored_slot(str(slot_id))["status"] == "cancelled"


def test_an_expired_slot_times_out_at_its_expiry_by_itself(client: httpx.Client,
                                                           worker: Path) -> None:
    """The worker's scheduled job closes it: no request has to touch the slot first."""
    slot_id = str(create_slot(client, expires_in_s=2)["id"])
    wait_until(lambda: stored_slot(slot_id)["status"] == "timed_out", timeout=60,
               what="slot record timed_out")
    assert client.get(f"/v1/uploads/{slot_id}").json()["status"] == "timed_out"


def test_a_read_after_expiry_shows_timed_out_even_without_a_worker(client: httpx.Client
                                                                   ) -> None:
    slot_id = str(create_slot(client, expires_in_s=1)["id"])
    time.sleep(1.1)  # scenario, not a wait: let the 1 s expiry pass (it is what is tested)
    assert client.get(f"/v1/uploads/{slot_id}").json()["status"] == "timed_out"


# --- Idempotency-Key -----------------------------------------------------------------------------
def test_a_retried_slot_creation_returns_the_same_slot(client: httpx.Client) -> None:
    headers = {"Idempotency-Key": f"slot-{time.time_ns()}"}
    first = client.post("/v1/uploads", json=SLOT, headers=headers)
    second = client.post("/v1/uploads", json=SLOT, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    other = client.post("/v1/uploads", json={**SLOT, "title": "Other"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    fresh = client.post("/v1/uploads", json=SLOT)
    assert fresh.json()["id"] != first.json()["id"]


def test_a_retried_asset_upload_returns_the_same_asset_and_one_job(
        client: httpx.Client, media_dir: Path) -> None:
    from workers import pipeline

    clip = make_clip(media_dir / "idem-160x90.mp4", width=160, height=90, seconds=1)
    key = f"asset-{time.time_ns()}"
    answers = []
    for _ in range(2):
        with clip.open("rb") as fh:
            answers.append(client.post("/v1/assets", data={"title": key},
                                       files={"file": (clip.name, fh)},
                                       headers={"Idempotency-Key": key}))
    assert [r.status_code for r in answers] == [202, 202], answers[1].text
    asset_id = answers[0].json()["id"]
    assert answers[1].json()["id"] == asset_id
    listed = client.get("/v1/assets", params={"limit": 200}).json()["items"]
    assert [a["id"] for a in listed if a["title"] == key] == [asset_id]
    pipeline.fetch_job(pipeline.job_id("probe", asset_id), handles.redis_connection())
    third = upload(client, clip, title=key)
    assert third.json()["id"] != asset_id


def test_reconcile_restores_the_slot_index_and_expiry_after_redis_is_lost(
        client: httpx.Client, stack: Stack) -> None:
    from workers import pipeline
    from workers.recovery import reconcile

    slot_id = str(create_slot(client)["id"])
    conn = handles.redis_connection()
    prefix = stack.env["PODIUM_QUEUE_PREFIX"]
    conn.zrem(f"{prefix}:uploads", slot_id)
    conn.delete(f"{prefix}:upload:{slot_id}")
    pipeline.fetch_job(f"expire-{slot_id}", conn).delete()
    listed = {s["id"] for s in client.get("/v1/uploads", params={"limit": 200}).json()["items"]}
    assert slot_id not in listed
    report = reconcile(handles.asset_store(), conn, handles.channel_store(), handles.slot_store())
    assert report.uploads >= 1
    listed = {s["id"] for s in client.get("/v1/uploads", params={"limit": 200}).json()["items"]}
    assert slot_id in listed
    assert pipeline.fetch_job(f"expire-{slot_id}", conn).get_status() == "scheduled"
