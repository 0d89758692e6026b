"""`/v1/assets` through the real API, worker, Redis and S3: shape, progress, listing, deletion."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from rq.exceptions import NoSuchJobError

from ingest.assets.models import Asset
from ingest.storage import keys
from runtime import handles
from tests.conftest import upload, wait_for
from tests.support.media import make_clip
from tests.support.wait import wait_until
from workers import pipeline

ASSET_KEYS = {"id", "status", "title", "speaker", "language", "visibility", "created_at",
              "duration_s", "progress", "renditions", "captions", "playback", "error",
              "poster", "upload_id", "version", "playing_version", "playable"}
STAGE_ORDER = ["queued", "probe", "transcode", "captions", "publish", "done"]


@pytest.fixture(scope="module")
def clip(media_dir: Path) -> Path:
    return make_clip(media_dir / "small-320x180.mp4", width=320, height=180, seconds=2)


def stored_keys(asset_id: str) -> list[str]:
    return list(handles.storage().list_keys(keys.asset_prefix(asset_id)))


def assert_error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code, resp.text


def test_upload_answers_202_with_the_contract_shape(client: httpx.Client, worker: Path,
                                                    clip: Path) -> None:
    before = datetime.now(UTC)
    resp = upload(client, clip, title="Shape check")
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert set(body) == ASSET_KEYS
    assert isinstance(body["id"], str) and keys.is_valid_id(body["id"])
    assert body["status"] == "waiting"
    assert body["title"] == "Shape check"
    assert body["speaker"] is None
    assert body["language"] == "en"
    assert body["visibility"] == "public"
    created = datetime.fromisoformat(body["created_at"])
    assert created.tzinfo is not None
    assert before - timedelta(seconds=1) <= created <= datetime.now(UTC) + timedelta(seconds=1)
    assert body["duration_s"] is None
    assert body["progress"] == {"stage": "queued", "percent": 0.0}
    assert body["renditions"] == []
    assert body["captions"] == []
    assert body["playback"] is None and body["playable"] is False
    assert body["error"] is None
    wait_for(client, body["id"], timeout_s=120)


def test_progress_moves_then_ready_with_renditions(client: httpx.Client, api_server: str,
                                                   worker: Path, clip: Path) -> None:
    asset_id = upload(client, clip).json()["id"]
    seen: list[tuple[str, str, float]] = []

    def finished() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/v1/assets/{asset_id}").json()
        seen.append((body["status"], body["progress"]["stage"], body["progress"]["percent"]))
        return body if body["status"] in ("ready", "errored") else None

    body = wait_until(finished, 120, 0.02, "the asset to be ready or errored")
    assert body["status"] == "ready", body
    preparing = [s for s in seen if s[0] == "preparing"]
    assert preparing, f"never saw the asset preparing: {seen[:3]}...{seen[-3:]}"
    assert {stage for _, stage, _ in preparing} <= {"probe", "transcode", "captions", "publish"}
    stages = [STAGE_ORDER.index(stage) for _, stage, _ in seen]
    assert stages == sorted(stages), "stages went backwards"
    assert all(0 <= pct <= 100 for *_, pct in seen)
    assert body["progress"] == {"stage": "done", "percent": 100.0}
    assert body["duration_s"] == pytest.approx(2, abs=0.2)
    assert body["error"] is None
    assert body["playback"] == {"hls": f"{api_server}/play/{asset_id}.m3u8"}
    assert body["poster"] == f"{api_server}/v1/assets/{asset_id}/poster.jpg"
    poster = client.get(body["poster"])
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/jpeg"
    assert poster.content[:3] == b"\xff\xd8\xff" and len(poster.content) > 1000
    assert len(body["renditions"]) >= 1
    for r in body["renditions"]:
        assert set(r) == {"name", "width", "height", "bandwidth", "codecs"}
        assert isinstance(r["name"], str) and r["name"]
        assert isinstance(r["width"], int) and isinstance(r["height"], int)
        assert r["width"] <= 320 and r["height"] <= 180  # never upscaled
        assert r["width"] % 2 == 0 and r["height"] % 2 == 0
        assert isinstance(r["bandwidth"], int) and r["bandwidth"] > 0
        assert r["codecs"].startswith("avc1.") and "mp4a.40.2" in r["codecs"]


def test_title_defaults_to_the_file_name_and_fields_are_stored(
        client: httpx.Client, worker: Path, clip: Path, tmp_path: Path) -> None:
    named = tmp_path / "Quarterly  update.mp4"
    named.write_bytes(clip.read_bytes())
    resp = upload(client, named, speaker="Ada Lovelace", language="pt-BR",
                  visibility="private", captions="none")
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["title"] == "Quarterly update"
    assert (body["speaker"], body["language"], body["visibility"]) == (
        "Ada Lovelace", "pt-BR", "private")
    shown = client.get(f"/v1/assets/{body['id']}").json()
    assert (shown["title"], shown["speaker"], shown["language"], shown["visibility"]) == (
        "Quarterly update", "Ada Lovelace", "pt-BR", "private")
    record = json.loads(handles.storage().get_bytes(keys.asset_record(body["id"])))
    assert record["title"] == "Quarterly update"
    assert record["speaker"] == "Ada Lovelace"
    assert record["language"] == "pt-BR"
    assert record["visibility"] == "private"
    assert record["caption_mode"] == "none"
    assert record["source_filename"] == "Quarterly  update.mp4"
    assert wait_for(client, body["id"], timeout_s=120)["status"] == "ready"


def _all_pages(client: httpx.Client, limit: int) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor: str | None = None
    for _ in range(1000):
        params: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        resp = client.get("/v1/assets", params=params)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert isinstance(cursor, str)
    raise AssertionError("pagination never ended")


def test_list_is_newest_first_and_pages_return_each_asset_once(
        client: httpx.Client, worker: Path, clip: Path) -> None:
    mine = [upload(client, clip, title=f"list {i}").json()["id"] for i in range(5)]
    for limit in (1, 2, 3, 200):
        items = _all_pages(client, limit)
        ids = [str(i["id"]) for i in items]
        assert len(ids) == len(set(ids)), f"duplicates with limit={limit}"
        assert [i for i in ids if i in mine] == mine[::-1], f"limit={limit}"
        created = [datetime.fromisoformat(str(i["created_at"])) for i in items]
        assert created == sorted(created, reverse=True)
    first = client.get("/v1/assets", params={"limit": 2}).json()
    assert [i["id"] for i in first["items"]] == mine[:-3:-1]
    assert first["next_cursor"]
    for asset_id in mine:
        wait_for(client, asset_id, timeout_s=120)


def test_pages_keep_assets_created_in_the_same_instant(client: httpx.Client) -> None:
    """Bulk imports and rebuilt indexes give many assets one created_at: none may be lost."""
    store = handles.asset_store()
    instant = datetime.now(UTC) + timedelta(days=365)  # newest of all: on the first pages
    twins = [store.create(Asset(id=f"as-{i:016x}", title=f"twin {i}", created_at=instant)).id
             for i in range(0xF00D0, 0xF00D5)]
    try:
        for limit in (1, 2, 3):
            ids = [str(i["id"]) for i in _all_pages(client, limit)]
            assert len(ids) == len(set(ids)), f"duplicates with limit={limit}"
            assert sorted(i for i in ids if i in twins) == sorted(twins), f"limit={limit}"
    finally:
        for asset_id in twins:
            store.delete(asset_id)


def test_list_rejects_bad_cursor_and_limit(client: httpx.Client) -> None:
    assert_error(client.get("/v1/assets", params={"cursor": "nan"}), 400, "invalid_cursor")
    assert_error(client.get("/v1/assets", params={"cursor": "x"}), 400, "invalid_cursor")
    assert_error(client.get("/v1/assets", params={"limit": 0}), 422, "invalid_request")
    assert_error(client.get("/v1/assets", params={"limit": 201}), 422, "invalid_request")


def test_delete_removes_every_object(client: httpx.Client, anon: httpx.Client, worker: Path,
                                     clip: Path) -> None:
    asset_id = upload(client, clip).json()["id"]
    assert wait_for(client, asset_id, timeout_s=120)["status"] == "ready"
    before = stored_keys(asset_id)
    assert keys.source(asset_id) in before
    assert keys.asset_record(asset_id) in before
    assert keys.master_playlist(asset_id) in before
    assert any(k.endswith(".ts") for k in before)

    resp = client.delete(f"/v1/assets/{asset_id}")
    assert resp.status_code == 204
    assert resp.content == b""
    assert stored_keys(asset_id) == []
    assert_error(client.get(f"/v1/assets/{asset_id}"), 404, "asset_not_found")
    assert_error(anon.get(f"/play/{asset_id}.m3u8"), 404, "asset_not_found")
    assert_error(client.delete(f"/v1/assets/{asset_id}"), 404, "asset_not_found")
    listed = [i["id"] for i in _all_pages(client, 200)]
    assert asset_id not in listed


def test_delete_needs_the_producer_key(anon: httpx.Client, client: httpx.Client) -> None:
    assert anon.delete("/v1/assets/as-0123456789abcdef").status_code == 401
    assert_error(client.delete("/v1/assets/as-0123456789abcdef"), 404, "asset_not_found")
    assert_error(client.delete("/v1/assets/not-an-id"), 404, "asset_not_found")


def _job_status(job_id: str) -> str | None:
    try:
        status = pipeline.fetch_job(job_id, handles.redis_connection()).get_status()
    except NoSuchJobError:
        return None
    return None if status is None else str(status.value)


def test_delete_during_transcode_leaves_nothing_and_worker_survives(
        client: httpx.Client, worker: Path, media_dir: Path, clip: Path) -> None:
    long_clip = make_clip(media_dir / "long-720p-20s.mp4", width=1280, height=720, seconds=20,
                          fps=30)
    asset_id = upload(client, long_clip, title="deleted mid-transcode").json()["id"]

    def transcoding() -> bool:
        body = client.get(f"/v1/assets/{asset_id}").json()
        if body["progress"]["stage"] == "transcode" and body["progress"]["percent"] > 0:
            return True  # percent comes from ffmpeg's own progress output
        assert body["status"] in ("waiting", "preparing"), body
        return False

    wait_until(transcoding, 120, 0.1, "the transcode to start")
    assert client.delete(f"/v1/assets/{asset_id}").status_code == 204
    assert_error(client.get(f"/v1/assets/{asset_id}"), 404, "asset_not_found")

    transcode = pipeline.job_id("transcode", asset_id)
    wait_until(lambda: _job_status(transcode) in ("finished", "failed"), 180, 0.5,
               "the transcode job to end")
    job = pipeline.fetch_job(transcode, handles.redis_connection())
    assert job.return_value() == "gone"
    assert _job_status(pipeline.job_id("publish", asset_id)) in (None, "canceled")
    # the segment uploader may still be finishing a put when the job returns: poll a little
    wait_until(lambda: not stored_keys(asset_id), 20, 0.5, "the asset's objects to be gone")
    assert stored_keys(asset_id) == []
    time.sleep(2)  # scenario, not a wait: nothing may come back during these 2 s
    assert stored_keys(asset_id) == [], "objects reappeared after the job ended"
    assert_error(client.get(f"/v1/assets/{asset_id}"), 404, "asset_not_found")

    after = upload(client, clip, title="after the delete").json()["id"]
    assert wait_for(client, after, timeout_s=120)["status"] == "ready"
