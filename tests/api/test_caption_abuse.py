"""Hostile caption input through the real API: the event loop stays free, extreme times are 4xx.

- A 32 KB SRT of one giant cue used to be parsed on the event loop in about a minute, and every
  request (`/healthz` included) waited for it (finding 1).
- Times that overflow (`99999999999:00:00,000`, `1e306`) answered 500 (finding 7).
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Stack, upload, wait_for
from tests.support import api_process as api_proc
from tests.support.hung import hung_server
from tests.support.media import make_clip
from tests.support.wait import wait_until

HEALTHZ_BOUND_S = 1.0
WORDS = ("a", "to", "of", "we", "and", "the")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def asset(worker: Path, api_server: str, stack: Stack, media_dir: Path) -> Iterator[str]:
    clip = make_clip(media_dir / "caption-abuse.mp4", seconds=3)
    with httpx.Client(base_url=api_server, timeout=60,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as c:
        resp = upload(c, clip, title="Caption abuse", captions="none")
        assert resp.status_code == 202, resp.text
        asset_id = str(resp.json()["id"])
        assert wait_for(c, asset_id)["status"] == "ready"
        yield asset_id
        c.delete(f"/v1/assets/{asset_id}")


@pytest.fixture
def api(stack: Stack, tmp_path: Path) -> Iterator[str]:
    """The API as its own process (its event loop is what is measured)."""
    port = _free_port()
    env = {**os.environ, **stack.env, "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "PODIUM_QUEUE_PREFIX": stack.env["PODIUM_QUEUE_PREFIX"]}
    with api_proc.api_process(env, port, tmp_path / "api.log"):
        yield f"http://127.0.0.1:{port}"


def assert_error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code, resp.text


def stamp(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def hostile_srt() -> bytes:
    """32 KB: one cue of thousands of short words, one per line."""
    rng = random.Random(1)
    text = "\n".join(rng.choice(WORDS) for _ in range(12_000))[: 32 * 1024]
    return f"1\n00:00:00,500 --> 00:00:02,500\n{text}\n\n".encode()


def large_srt(size: int = 1_500_000) -> bytes:
    """A valid file near the size limit: cues as large as allowed, reflowed one by one."""
    rng = random.Random(2)
    line = " ".join(rng.choice(WORDS) for _ in range(40))[:110]
    text = "\n".join([line] * 8)
    blocks, total, n = [], 0, 0
    while total < size:
        block = f"{n + 1}\n{stamp(n)},000 --> {stamp(n)},900\n{text}\n\n"
        blocks.append(block)
        total += len(block)
        n += 1
    return "".join(blocks).encode()


def test_healthz_answers_while_captions_are_parsed(api: str, asset: str, stack: Stack) -> None:
    headers = {"Authorization": f"Bearer {stack.api_key}", "Content-Type": "text/plain"}
    results: dict[str, httpx.Response | Exception] = {}

    def put(name: str, body: bytes) -> None:
        try:
            results[name] = httpx.put(f"{api}/v1/assets/{asset}/captions/en", content=body,
                                      headers=headers, timeout=300)
        except httpx.HTTPError as exc:
            results[name] = exc

    bodies = {"hostile": hostile_srt(), "large": large_srt()}
    threads = [threading.Thread(target=put, args=item) for item in bodies.items()]
    for t in threads:
        t.start()
    latencies: list[float] = []
    with httpx.Client(timeout=5) as probe:

        def uploads_over() -> bool:
            """Ask /healthz once, timed, while an upload runs."""
            if not any(t.is_alive() for t in threads):
                return True
            started = time.monotonic()
            with contextlib.suppress(httpx.TimeoutException):  # counts as the 5 s it waited
                assert probe.get(f"{api}/healthz").status_code == 200
            latencies.append(time.monotonic() - started)
            return False

        wait_until(uploads_over, 600, 0.05, "both caption uploads to end")
    for t in threads:
        t.join()
    print(f"/healthz during the uploads: {len(latencies)} requests, max {max(latencies):.3f} s, "
          f"median {sorted(latencies)[len(latencies) // 2]:.3f} s")
    assert len(latencies) >= 3, "the uploads were over before /healthz was asked"
    assert max(latencies) < HEALTHZ_BOUND_S, (
        f"/healthz waited {max(latencies):.2f} s (median "
        f"{sorted(latencies)[len(latencies) // 2]:.3f} s over {len(latencies)} requests)")
    hostile, large = results["hostile"], results["large"]
    assert isinstance(hostile, httpx.Response) and isinstance(large, httpx.Response), results
    assert_error(hostile, 422, "caption_cue_too_long")
    assert large.status_code == 200, large.text


@pytest.mark.parametrize(("body", "code"), [
    (b"1\n99999999999:00:00,000 --> 99999999999:00:01,000\nhi\n\n", "caption_time_too_large"),
    (b"1\n9999:00:00,000 --> 9999:00:01,000\nhi\n\n", "caption_time_too_large"),
    (b"WEBVTT\n\n9999:00:00.000 --> 9999:00:01.000\nhi\n\n", "caption_time_too_large"),
    (b"WEBVTT\n\n99999999999:00:00.000 --> 99999999999:00:01.000\nhi\n\n", "caption_malformed"),
    (b"1\n-00:00:01,000 --> 00:00:02,000\nhi\n\n", "caption_negative_time"),
])
def test_extreme_times_in_files_are_4xx(client: httpx.Client, asset: str, body: bytes,
                                        code: str) -> None:
    resp = client.put(f"/v1/assets/{asset}/captions/en", content=body,
                      headers={"Content-Type": "text/plain"})
    assert_error(resp, 422, code)


@pytest.mark.parametrize(("start", "end", "code"), [
    ("1e306", "1e306", "caption_time_too_large"),
    ("0", "1e306", "caption_time_too_large"),
    ("0", "1e309", "caption_bad_timing"),  # JSON's 1e309 is infinity
    ("NaN", "1", "caption_bad_timing"),
    ("0", "Infinity", "caption_bad_timing"),
    ("-Infinity", "1", "caption_bad_timing"),
    ("-1", "1", "caption_negative_time"),
    ("-1e306", "1", "caption_negative_time"),
])
def test_extreme_times_in_an_edit_are_4xx(client: httpx.Client, asset: str, start: str,
                                          end: str, code: str) -> None:
    body = f'{{"cues": [{{"start": {start}, "end": {end}, "text": "hi"}}]}}'.encode()
    resp = client.patch(f"/v1/assets/{asset}/captions/en", content=body,
                        headers={"Content-Type": "application/json"})
    assert resp.status_code < 500, resp.text
    assert_error(resp, 422, code)


def test_a_token_request_never_sees_a_500(anon: httpx.Client, asset: str) -> None:
    """The track left by these tests still reads back."""
    resp = anon.get(f"/v1/assets/{asset}/captions/en.vtt",
                    params={"token": secrets.token_hex(4)})
    assert resp.status_code in (200, 404), resp.text


def test_healthz_answers_while_a_translations_source_is_read_from_a_hung_store(
        client: httpx.Client, asset: str, stack: Stack, tmp_path: Path) -> None:
    """`PUT ...?translation_of=` reads the source track from the bucket: never on the event
    loop, where a storage call waiting out its read timeout stalled every request."""
    srt = b"1\n00:00:00,500 --> 00:00:02,000\nHello there.\n\n"
    source = client.put(f"/v1/assets/{asset}/captions/en", content=srt,
                        headers={"Content-Type": "text/plain"})
    assert source.status_code == 200, source.text
    port = _free_port()
    with hung_server() as hung_port:
        env = {**os.environ, **stack.env, "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{port}",
               "PODIUM_S3_ENDPOINT": f"http://127.0.0.1:{hung_port}",
               "PODIUM_S3_READ_TIMEOUT_S": "4", "PODIUM_S3_MAX_ATTEMPTS": "1"}
        with api_proc.api_process(env, port, tmp_path / "api.log"):
            api = f"http://127.0.0.1:{port}"
            translation = threading.Thread(target=lambda: httpx.put(
                f"{api}/v1/assets/{asset}/captions/fr", params={"translation_of": "en"},
                content=srt.replace(b"Hello there.", b"Bonjour."), timeout=30,
                headers={"Authorization": f"Bearer {stack.api_key}",
                         "Content-Type": "text/plain"}))
            translation.start()
            latencies: list[float] = []
            with httpx.Client(timeout=10) as probe:

                def translation_over() -> bool:
                    if not translation.is_alive():
                        return True
                    started = time.monotonic()
                    assert probe.get(f"{api}/healthz").status_code == 200
                    latencies.append(time.monotonic() - started)
                    return False

                wait_until(translation_over, 30, 0.1, "the translation upload to end")
    assert max(latencies) < HEALTHZ_BOUND_S, f"/healthz waited {max(latencies):.2f} s"
    assert len(latencies) >= 3, "the upload was over before /healthz was asked"
