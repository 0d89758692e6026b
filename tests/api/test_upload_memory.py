"""A large upload streams through the API to storage: the API process does not grow with it.

The API runs as its own uvicorn process so its resident memory can be read from /proc while a
~400 MB multipart body is streamed into it from a generator."""

from __future__ import annotations

import os
import random
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.storage import keys
from runtime import handles
from tests.conftest import Stack
from tests.support import api_process as api_proc
from tests.support.procs import RssSampler, rss_bytes
from tests.support.wait import wait_until
from workers import pipeline

UPLOAD_BYTES = 400 * 1024 * 1024
CHUNK = 256 * 1024
MAX_GROWTH = 60 * 1024 * 1024
BOUNDARY = "podium-memory-test-5b0d"
# An ISO BMFF `ftyp` box: enough for the upload sniffer to take the body for MP4.
FTYP = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settled_rss(pid: int) -> int:
    """The process's resident memory once it stopped moving (warm-up's work has ended)."""
    readings = [rss_bytes(pid)]

    def steady() -> int | None:
        readings.append(rss_bytes(pid))
        return readings[-1] if abs(readings[-1] - readings[-2]) < 2**20 else None

    return wait_until(steady, 10, 0.25, "the API's memory to settle after the warm-up")


@pytest.fixture
def api_process(stack: Stack, tmp_path: Path) -> Iterator[tuple[str, int, str]]:
    """uvicorn serving the API alone, on queues no worker reads (nothing gets processed)."""
    port = _free_port()
    prefix = f"{stack.env['PODIUM_QUEUE_PREFIX']}mem{secrets.token_hex(2)}"
    env = {**os.environ, **stack.env, "PODIUM_QUEUE_PREFIX": prefix,
           "PODIUM_MAX_UPLOAD_BYTES": str(2 * UPLOAD_BYTES),
           "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    try:
        with api_proc.api_process(env, port, tmp_path / "api.log", ready_path="/readyz") as proc:
            yield f"http://127.0.0.1:{port}", proc.pid, prefix
    finally:
        conn = handles.redis_connection()
        for name in (f"{prefix}-media", f"{prefix}-captions"):
            pipeline.queue(name, conn).empty()
        for key in conn.scan_iter(match=f"{prefix}:*"):
            conn.delete(key)


def multipart_body(size: int, filename: str) -> tuple[Iterator[bytes], int]:
    """A form with one file part of ``size`` bytes (ftyp, then noise), and its length."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n"
            f"memory test\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{filename}\"\r\nContent-Type: video/mp4\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    rng = random.Random(2)
    blocks = [rng.randbytes(CHUNK) for _ in range(8)]

    def chunks() -> Iterator[bytes]:
        yield head + FTYP
        left = size - len(FTYP)
        i = 0
        while left > 0:
            block = blocks[i % len(blocks)][: min(CHUNK, left)]
            yield block
            left -= len(block)
            i += 1
        yield tail

    return chunks(), len(head) + size + len(tail)


def upload(url: str, key: str, size: int) -> httpx.Response:
    body, length = multipart_body(size, "big.mp4")
    return httpx.post(f"{url}/v1/assets", content=body, timeout=httpx.Timeout(30, read=120),
                      headers={"Authorization": f"Bearer {key}",
                               "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                               "Content-Length": str(length)})


def test_large_upload_streams_without_growing_the_api(
        stack: Stack, api_process: tuple[str, int, str]) -> None:
    url, pid, _ = api_process
    warm = upload(url, stack.api_key, 10 * 1024 * 1024)  # threads, boto3 and parsers loaded
    assert warm.status_code == 202, warm.text
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    assert httpx.delete(f"{url}/v1/assets/{warm.json()['id']}", headers=headers).status_code == 204
    baseline = settled_rss(pid)

    started = time.monotonic()
    with RssSampler(pid) as sampler:
        resp = upload(url, stack.api_key, UPLOAD_BYTES)
    elapsed = time.monotonic() - started
    assert resp.status_code == 202, resp.text
    asset_id = resp.json()["id"]
    assert sampler.samples > 50
    growth = sampler.peak - baseline
    assert growth < MAX_GROWTH, (
        f"API grew by {growth / 2**20:.0f} MB while streaming {UPLOAD_BYTES / 2**20:.0f} MB "
        f"(baseline {baseline / 2**20:.0f} MB, {elapsed:.1f} s)")

    storage = handles.storage()
    sizes = storage.object_sizes(keys.asset_prefix(asset_id))
    assert sizes["source/original"] == UPLOAD_BYTES
    assert httpx.delete(f"{url}/v1/assets/{asset_id}", headers=headers).status_code == 204
    assert list(storage.list_keys(keys.asset_prefix(asset_id))) == []


def tus_body(size: int) -> Iterator[bytes]:
    """A PATCH body of ``size`` bytes (ftyp, then noise), produced as it is sent."""
    rng = random.Random(3)
    blocks = [rng.randbytes(CHUNK) for _ in range(8)]
    yield FTYP
    left, i = size - len(FTYP), 0
    while left > 0:
        block = blocks[i % len(blocks)][: min(CHUNK, left)]
        yield block
        left -= len(block)
        i += 1


def test_a_large_tus_chunk_streams_without_growing_the_api(
        stack: Stack, api_process: tuple[str, int, str]) -> None:
    """One PATCH of the whole file (what tus-js-client sends by default): parts go to storage
    as they fill, a few at a time, and the API's memory stays flat."""
    url, pid, _ = api_process
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    tus = {"Tus-Resumable": "1.0.0"}

    def send(size: int) -> str:
        slot = httpx.post(f"{url}/v1/uploads", json={"title": "memory"}, headers=headers).json()
        created = httpx.post(slot["tus_endpoint"], headers={**tus, "Upload-Length": str(size)})
        assert created.status_code == 201, created.text
        transfer = str(httpx.URL(slot["tus_endpoint"]).join(created.headers["location"]))
        resp = httpx.patch(transfer, content=tus_body(size), timeout=httpx.Timeout(30, read=300),
                           headers={**tus, "Upload-Offset": "0", "Content-Length": str(size),
                                    "Content-Type": "application/offset+octet-stream"})
        assert resp.status_code == 204, resp.text
        asset_id = httpx.get(f"{url}/v1/uploads/{slot['id']}", headers=headers).json()["asset_id"]
        assert asset_id
        return str(asset_id)

    warm = send(20 * 1024 * 1024)  # the part threads and boto3 loaded
    assert httpx.delete(f"{url}/v1/assets/{warm}", headers=headers).status_code == 204
    baseline = settled_rss(pid)
    with RssSampler(pid) as sampler:
        asset_id = send(UPLOAD_BYTES)
    growth = sampler.peak - baseline
    assert growth < MAX_GROWTH, (
        f"API grew by {growth / 2**20:.0f} MB while a {UPLOAD_BYTES / 2**20:.0f} MB tus chunk "
        f"streamed (baseline {baseline / 2**20:.0f} MB)")
    assert handles.storage().object_sizes(keys.asset_prefix(asset_id))["source/original"] == \
        UPLOAD_BYTES
