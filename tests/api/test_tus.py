"""The tus 1.0.0 endpoint of an upload slot with the real `tuspy` client, the real API, Redis
and S3: resumption after dropped connections, the protocol's errors, two API processes."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed

from ingest.storage import keys
from ingest.uploads.models import Transfer
from runtime import handles
from tests.conftest import Stack, _free_port, wait_for
from tests.support.api_process import api_process
from tests.support.media import make_clip, make_fake_mp4
from tests.support.proxy import cutting_proxy
from tests.support.wait import wait_until
from workers.events import slot_lifecycle

MiB = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(4 * MiB):
            digest.update(block)
    return digest.hexdigest()


def sha256_of_object(key: str) -> tuple[str, int]:
    chunks, length, _ = handles.storage().open_stream(key)
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest(), length


def new_slot(client: httpx.Client, **extra: object) -> dict[str, str]:
    resp = client.post("/v1/uploads", json={"title": "Talk", "speaker": "Grace",
                                            "language": "en", **extra})
    assert resp.status_code == 201, resp.text
    return {k: str(v) for k, v in resp.json().items()}


def transfer_state(slot_id: str, transfer_url: str) -> Transfer:
    transfer_id = urlsplit(transfer_url).path.rsplit("/", 1)[1]
    return handles.transfers().get(slot_id, transfer_id)


def create(endpoint: str, length: int, **headers: str) -> httpx.Response:
    return httpx.post(endpoint, headers={**TUS, "Upload-Length": str(length), **headers})


def location(endpoint: str, resp: httpx.Response) -> str:
    assert resp.status_code == 201, resp.text
    return str(httpx.URL(endpoint).join(resp.headers["location"]))


def patch(url: str, offset: int, data: bytes, **headers: str) -> httpx.Response:
    return httpx.patch(url, content=data, headers={**OCTETS, "Upload-Offset": str(offset),
                                                   **headers}, timeout=60)


def head(url: str) -> httpx.Response:
    return httpx.head(url, headers=TUS)


def assert_error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    if resp.request.method != "HEAD":  # a HEAD answer has no body to hold the code
        assert resp.json()["error"]["code"] == code, resp.text


def multipart_open(key: str) -> bool:
    return any(k == key for k, _ in handles.storage().multipart_uploads(key))


def leftovers(slot_id: str) -> list[str]:
    return list(handles.storage().list_keys(keys.upload_prefix(slot_id) + "transfers/"))


@pytest.fixture
def slot(client: httpx.Client) -> dict[str, str]:
    return new_slot(client)


# --- the whole path ------------------------------------------------------------------------------
def test_a_tuspy_upload_becomes_an_asset_that_plays(client: httpx.Client, worker: Path,
                                                    media_dir: Path) -> None:
    clip = make_clip(media_dir / "tus-320x180.mp4", width=320, height=180, seconds=2)
    slot = new_slot(client)
    uploader = tus_client.TusClient(slot["tus_endpoint"]).uploader(
        file_path=str(clip), chunk_size=64 * 1024, metadata={"filename": clip.name},
        upload_checksum=True)
    uploader.upload()
    body = client.get(f"/v1/uploads/{slot['id']}").json()
    assert body["status"] == "asset_created"
    asset = wait_for(client, body["asset_id"])
    assert asset["status"] == "ready", asset
    assert asset["title"] == "Talk" and asset["speaker"] == "Grace"
    assert sha256_of_object(keys.source(body["asset_id"]))[0] == sha256_of_file(clip)
    assert leftovers(slot["id"]) == []


def _interrupted_upload(client: httpx.Client, stack: Stack, source: Path) -> None:
    slot = new_slot(client)
    api_port = int(stack.api_url.rsplit(":", 1)[1])
    with cutting_proxy(api_port) as proxy:
        endpoint = slot["tus_endpoint"].replace(f":{api_port}/", f":{proxy.port}/")
        uploader = tus_client.TusClient(endpoint).uploader(
            file_path=str(source), chunk_size=16 * MiB, metadata={"filename": source.name})
        uploader.upload_chunk()
        offsets = [uploader.offset]
        for cut in (5 * MiB, 9 * MiB):  # two connections dropped in the middle of a chunk
            proxy.cut_after(cut)
            with pytest.raises((TusUploadFailed, TusCommunicationError)):
                uploader.upload_chunk()
            uploader.offset = uploader.get_offset()  # what the server kept of the cut chunk
            offsets.append(uploader.offset)
        uploader.upload()
    assert proxy.cuts == 2
    # the bytes that arrived before each cut were kept: resumption started mid-chunk
    assert all(o % (16 * MiB) != 0 for o in offsets[1:]), offsets
    body = client.get(f"/v1/uploads/{slot['id']}").json()
    assert body["status"] == "asset_created", body
    digest, length = sha256_of_object(keys.source(body["asset_id"]))
    assert length == source.stat().st_size
    assert digest == sha256_of_file(source)
    assert leftovers(slot["id"]) == []


def test_an_upload_cut_twice_mid_chunk_resumes_to_the_same_bytes(
        client: httpx.Client, stack: Stack, media_dir: Path) -> None:
    _interrupted_upload(client, stack, make_fake_mp4(media_dir / "random-60m.mp4", 60 * MiB))


@pytest.mark.slow
def test_a_200_mb_upload_cut_twice_mid_chunk_resumes_to_the_same_bytes(
        client: httpx.Client, stack: Stack, media_dir: Path) -> None:
    _interrupted_upload(client, stack, make_fake_mp4(media_dir / "random-200m.mp4", 200 * MiB))


def test_two_api_processes_take_turns_on_one_upload(client: httpx.Client, stack: Stack,
                                                    media_dir: Path, tmp_path: Path) -> None:
    source = make_fake_mp4(media_dir / "random-30m.mp4", 30 * MiB)
    slot = new_slot(client)
    port = _free_port()
    env = dict(os.environ, **stack.env)
    with api_process(env, port, tmp_path / "api-b.log"):
        first = f"{stack.api_url}/"
        second = f"http://127.0.0.1:{port}/"
        endpoint = slot["tus_endpoint"]
        uploader = tus_client.TusClient(endpoint).uploader(
            file_path=str(source), chunk_size=7 * MiB, upload_checksum=True)
        uploader.upload_chunk()
        turns = 1
        while uploader.offset < source.stat().st_size:
            # every chunk through the other process; each one reads the state the other left
            base, other = (first, second) if turns % 2 == 0 else (second, first)
            uploader.set_url(uploader.url.replace(other, base))
            uploader.upload_chunk()
            turns += 1
    assert turns == 5
    body = client.get(f"/v1/uploads/{slot['id']}").json()
    assert body["status"] == "asset_created"
    assert sha256_of_object(keys.source(body["asset_id"]))[0] == sha256_of_file(source)


# --- the protocol's answers ----------------------------------------------------------------------
def test_options_lists_version_extensions_limit_and_checksums(slot: dict[str, str]) -> None:
    resp = httpx.options(slot["tus_endpoint"])
    assert resp.status_code == 204
    assert resp.headers["tus-version"] == "1.0.0"
    assert set(resp.headers["tus-extension"].split(",")) >= {
        "creation", "creation-with-upload", "termination", "checksum", "expiration"}
    assert "sha1" in resp.headers["tus-checksum-algorithm"].split(",")
    assert int(resp.headers["tus-max-size"]) > 0


def test_wrong_offset_is_409_and_changes_nothing(slot: dict[str, str]) -> None:
    url = location(slot["tus_endpoint"], create(slot["tus_endpoint"], 100_000))
    assert patch(url, 0, fake_head(1000)).status_code == 204
    assert_error(patch(url, 0, b"x" * 10), 409, "offset_mismatch")
    assert_error(patch(url, 5000, b"x" * 10), 409, "offset_mismatch")
    assert head(url).headers["upload-offset"] == "1000"


def fake_head(size: int) -> bytes:
    return (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\0" * size)[:size]


def sha1_header(data: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(data).digest()).decode()


def test_bad_checksum_is_460_and_nothing_of_the_chunk_is_kept(slot: dict[str, str]) -> None:
    url = location(slot["tus_endpoint"], create(slot["tus_endpoint"], 20_000))
    data = fake_head(10_000)
    assert_error(patch(url, 0, data, **{"Upload-Checksum": sha1_header(b"other")}), 460,
                 "checksum_mismatch")
    assert head(url).headers["upload-offset"] == "0"
    assert_error(patch(url, 0, data, **{"Upload-Checksum": "crc32 AAAA"}), 400,
                 "checksum_algorithm_unsupported")
    ok = patch(url, 0, data, **{"Upload-Checksum": sha1_header(data)})
    assert ok.status_code == 204 and ok.headers["upload-offset"] == "10000"


def test_unsupported_version_is_412(slot: dict[str, str]) -> None:
    resp = httpx.post(slot["tus_endpoint"], headers={"Tus-Resumable": "0.2.2",
                                                     "Upload-Length": "10"})
    assert_error(resp, 412, "tus_version_unsupported")
    assert resp.headers["tus-version"] == "1.0.0"
    assert httpx.post(slot["tus_endpoint"], headers={"Upload-Length": "10"}).status_code == 412


def test_over_the_maximum_is_413(slot: dict[str, str]) -> None:
    max_size = int(httpx.options(slot["tus_endpoint"]).headers["tus-max-size"])
    assert_error(create(slot["tus_endpoint"], max_size + 1), 413, "upload_too_large")
    url = location(slot["tus_endpoint"], create(slot["tus_endpoint"], 100))
    assert_error(patch(url, 0, fake_head(101)), 413, "upload_too_large")
    assert head(url).headers["upload-offset"] == "0"


def test_creation_with_upload_and_the_expiration_header(slot: dict[str, str]) -> None:
    data = fake_head(5000)
    resp = httpx.post(slot["tus_endpoint"], content=data,
                      headers={**OCTETS, "Upload-Length": "9000"})
    assert resp.status_code == 201, resp.text
    assert resp.headers["upload-offset"] == "5000"
    assert "GMT" in resp.headers["upload-expires"]
    url = location(slot["tus_endpoint"], resp)
    got = head(url)
    assert got.status_code == 200
    assert (got.headers["upload-offset"], got.headers["upload-length"]) == ("5000", "9000")
    assert got.headers["cache-control"] == "no-store"


def test_a_file_that_is_not_video_is_refused_at_its_first_part(slot: dict[str, str],
                                                               client: httpx.Client) -> None:
    url = location(slot["tus_endpoint"], create(slot["tus_endpoint"], 20 * MiB))
    resp = patch(url, 0, b"%PDF-1.7 " + b"x" * (9 * MiB))
    assert_error(resp, 422, "unsupported_container")
    assert_error(head(url), 410, "transfer_gone")
    assert client.get(f"/v1/uploads/{slot['id']}").json()["status"] == "waiting"


def test_a_token_for_another_slot_opens_nothing(client: httpx.Client) -> None:
    mine, theirs = new_slot(client), new_slot(client)
    url = location(mine["tus_endpoint"], create(mine["tus_endpoint"], 100))
    other_token = urlsplit(theirs["tus_endpoint"]).query
    crossed = mine["tus_endpoint"].split("?")[0] + "?" + other_token
    assert_error(create(crossed, 100), 403, "invalid_upload_token")
    forged = url.split("?")[0] + "?" + other_token
    assert_error(head(forged), 403, "invalid_upload_token")
    assert_error(patch(forged, 0, fake_head(10)), 403, "invalid_upload_token")
    assert_error(httpx.put(mine["put_url"].split("?")[0] + "?" + other_token, content=b"x"),
                 403, "invalid_upload_token")
    assert_error(create(mine["tus_endpoint"].split("?")[0], 100), 403, "invalid_upload_token")
    # a transfer of one slot is not reachable under another slot's path, even with its token
    theirs_path = theirs["tus_endpoint"].split("?")[0]
    other_url = f"{theirs_path}/{url.split('/tus/')[1].split('?')[0]}?{other_token}"
    assert_error(head(other_url), 404, "transfer_not_found")


def test_requests_after_termination_get_410_and_no_bytes_stay(slot: dict[str, str]) -> None:
    url = location(slot["tus_endpoint"], create(slot["tus_endpoint"], 20 * MiB))
    assert patch(url, 0, fake_head(9 * MiB)).status_code == 204  # one part + pending bytes
    state = transfer_state(slot["id"], url)
    assert multipart_open(state.key) and leftovers(slot["id"])
    assert httpx.delete(url, headers=TUS).status_code == 204
    assert_error(head(url), 410, "transfer_gone")
    assert_error(patch(url, 9 * MiB, b"x"), 410, "transfer_gone")
    assert_error(httpx.delete(url, headers=TUS), 410, "transfer_gone")
    assert not multipart_open(state.key)
    assert leftovers(slot["id"]) == []


def test_a_cancelled_slot_refuses_data_and_drops_its_transfers(
        slot: dict[str, str], client: httpx.Client) -> None:
    url = location(slot["tus_endpoint"], create(slot["tus_endpoint"], 20 * MiB))
    assert patch(url, 0, fake_head(9 * MiB)).status_code == 204
    key = transfer_state(slot["id"], url).key
    assert client.post(f"/v1/uploads/{slot['id']}/cancel").status_code == 200
    assert_error(patch(url, 9 * MiB, b"x" * 10), 410, "upload_cancelled")
    assert_error(create(slot["tus_endpoint"], 10), 410, "upload_cancelled")
    assert_error(httpx.put(slot["put_url"], content=fake_head(100)), 410, "upload_cancelled")
    assert_error(head(url), 410, "transfer_gone")
    assert not multipart_open(key)
    assert leftovers(slot["id"]) == []


def test_an_expired_slot_refuses_data_and_drops_its_transfers(client: httpx.Client) -> None:
    slot = new_slot(client, expires_in_s=10)  # room for one 9 MiB chunk on a busy machine
    url = location(slot["tus_endpoint"], create(slot["tus_endpoint"], 20 * MiB))
    assert patch(url, 0, fake_head(9 * MiB)).status_code == 204
    key = transfer_state(slot["id"], url).key
    expires = datetime.fromisoformat(slot["expires_at"])
    wait_until(lambda: datetime.now(UTC) > expires, timeout=30, what="the slot's expiry")
    assert_error(patch(url, 9 * MiB, b"x" * 10), 410, "upload_expired")
    assert_error(create(slot["tus_endpoint"], 10), 410, "upload_expired")
    assert client.get(f"/v1/uploads/{slot['id']}").json()["status"] == "timed_out"
    assert_error(head(url), 410, "transfer_gone")
    assert not multipart_open(key)
    assert leftovers(slot["id"]) == []


def _new_version_transfer(client: httpx.Client, **slot_fields: object) -> tuple[dict[str, str],
                                                                                str, str]:
    """A slot whose asset exists, with an unfinished upload of the asset's next version holding
    a multipart upload and pending bytes: (slot, transfer URL, object key)."""
    slot = new_slot(client, **slot_fields)
    put = httpx.put(slot["put_url"], content=fake_head(5000), timeout=60)
    assert put.status_code == 201, put.text
    stored = slot_lifecycle().store.get(slot["id"])
    transfer = handles.transfers().create(stored, put.json()["asset_id"], 20 * MiB, {},
                                          100 * MiB, version=1)
    endpoint, query = slot["tus_endpoint"].split("?")
    url = f"{endpoint}/{transfer.id}?{query}"
    assert patch(url, 0, fake_head(100_000)).status_code == 204
    assert multipart_open(transfer.key) and leftovers(slot["id"])
    return slot, url, transfer.key


def test_locking_the_slot_drops_an_unfinished_new_version(client: httpx.Client) -> None:
    slot, url, key = _new_version_transfer(client)
    assert client.post(f"/v1/uploads/{slot['id']}/lock").status_code == 200
    assert_error(head(url), 410, "transfer_gone")
    assert not multipart_open(key)
    assert leftovers(slot["id"]) == []


def test_the_expiry_drops_an_unfinished_new_version(client: httpx.Client) -> None:
    slot, url, key = _new_version_transfer(client, expires_in_s=30)  # room on a busy machine
    expires = datetime.fromisoformat(slot["expires_at"])
    wait_until(lambda: datetime.now(UTC) > expires, timeout=60, what="the slot's expiry")
    body = client.get(f"/v1/uploads/{slot['id']}").json()
    assert body["status"] == "asset_created"  # the asset stays; the new version's bytes go
    assert_error(head(url), 410, "transfer_gone")
    assert not multipart_open(key)
    assert leftovers(slot["id"]) == []


def test_a_cancel_stops_a_chunk_being_sent_and_drops_it(slot: dict[str, str],
                                                        client: httpx.Client) -> None:
    url = location(slot["tus_endpoint"], create(slot["tus_endpoint"], 400 * MiB))
    key = transfer_state(slot["id"], url).key
    sent = [0]
    stop = threading.Event()

    def body() -> Iterator[bytes]:
        # 2 MiB/s: the whole chunk would take minutes, longer than the cancel may wait for it
        yield fake_head(MiB)
        sent[0] += MiB
        while not stop.wait(0.5) and sent[0] < 399 * MiB:
            yield b"\0" * MiB
            sent[0] += MiB

    outcome: dict[str, object] = {}

    def send() -> None:
        try:
            outcome["resp"] = httpx.patch(url, content=body(), timeout=120,
                                          headers={**OCTETS, "Upload-Offset": "0"})
        except httpx.HTTPError as exc:  # the server may close while the body still comes
            outcome["error"] = exc

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        wait_until(lambda: sent[0] > 10 * MiB, timeout=60, what="a part on its way")
        cancel = client.post(f"/v1/uploads/{slot['id']}/cancel", timeout=120)
    finally:
        stop.set()
        sender.join(60)
    assert cancel.status_code == 200, cancel.text
    resp = outcome.get("resp")
    if isinstance(resp, httpx.Response):
        assert_error(resp, 410, resp.json()["error"]["code"])
    assert_error(head(url), 410, "transfer_gone")
    assert not multipart_open(key)
    assert leftovers(slot["id"]) == []


def test_a_locked_slot_takes_no_new_upload(slot: dict[str, str], client: httpx.Client) -> None:
    client.post(f"/v1/uploads/{slot['id']}/lock")
    assert_error(create(slot["tus_endpoint"], 10), 409, "upload_locked")


def test_cors_lets_a_page_on_another_site_use_the_endpoint(slot: dict[str, str]) -> None:
    origin = {"Origin": "https://conference.example"}
    pre = httpx.options(slot["tus_endpoint"], headers={
        **origin, "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "tus-resumable,upload-offset,upload-checksum"})
    assert pre.status_code == 204
    assert "PATCH" in pre.headers["access-control-allow-methods"]
    allowed = pre.headers["access-control-allow-headers"].lower()
    assert all(h in allowed for h in ("tus-resumable", "upload-offset", "upload-checksum",
                                      "upload-length", "upload-metadata"))
    resp = create(slot["tus_endpoint"], 10, **origin)
    exposed = resp.headers["access-control-expose-headers"].lower()
    assert all(h in exposed for h in ("location", "upload-offset", "upload-length",
                                      "tus-resumable"))
    assert resp.headers["access-control-allow-origin"] == "*"


# --- raw PUT and the slot's own duration limit ---------------------------------------------------
def test_put_url_takes_the_whole_file(client: httpx.Client, media_dir: Path) -> None:
    clip = make_clip(media_dir / "put-160x90.mp4", width=160, height=90, seconds=1)
    slot = new_slot(client)
    with clip.open("rb") as fh:
        resp = httpx.put(slot["put_url"], content=fh, timeout=60)
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "asset_created"
    asset_id = resp.json()["asset_id"]
    assert client.get(f"/v1/uploads/{slot['id']}").json()["asset_id"] == asset_id
    assert sha256_of_object(keys.source(asset_id))[0] == sha256_of_file(clip)
    again = httpx.put(slot["put_url"], content=clip.read_bytes())
    assert_error(again, 409, "asset_processing")  # a replacement, once this one is processed


def test_put_of_something_that_is_not_video_is_refused(slot: dict[str, str]) -> None:
    assert_error(httpx.put(slot["put_url"], content=b"#EXTM3U\n#EXT-X-ENDLIST\n" * 300),
                 422, "playlist_not_allowed")
    assert_error(httpx.put(slot["put_url"], content=b""), 422, "empty_file")


def test_a_video_longer_than_the_slot_allows_ends_errored_with_its_code(
        client: httpx.Client, worker: Path, media_dir: Path) -> None:
    clip = make_clip(media_dir / "long-160x90.mp4", width=160, height=90, seconds=3)
    slot = new_slot(client, max_duration_s=1.5)
    tus_client.TusClient(slot["tus_endpoint"]).uploader(file_path=str(clip)).upload()
    asset_id = client.get(f"/v1/uploads/{slot['id']}").json()["asset_id"]
    asset = wait_for(client, asset_id)
    assert asset["status"] == "errored"
    assert asset["error"]["code"] == "duration_exceeds_upload_limit"


