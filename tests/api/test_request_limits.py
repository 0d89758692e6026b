"""The API key is checked before any body is read, and every request body is capped.

FastAPI parses a route's JSON body before it resolves dependencies: without the key-first
route class an anonymous client got 422 for bad JSON and could make the API hold a body of any
size. These tests run against the real API (in-process for the status codes, as its own
process where its resident memory is measured).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute

import api.routes
from api.deps import ProducerFirstRoute, needs_producer
from tests.api.test_upload_memory import RssSampler, rss_bytes
from tests.conftest import Stack
from tests.support import api_process as api_proc

WELL_FORMED_ID = "as-0123456789abcdef"
BAD_JSON = b'{"cues": [{"start": 1, "end": '
CAP = 4 * 1024 * 1024
ANONYMOUS_BODY = 50 * 1024 * 1024
CHUNK = 256 * 1024
MAX_GROWTH = 8 * 1024 * 1024


def routers() -> list[APIRouter]:
    """The router of every module under api/routes (new resources are included by themselves)."""
    found = []
    for info in pkgutil.iter_modules(api.routes.__path__):
        module = importlib.import_module(f"api.routes.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append(router)
    return found


def producer_routes() -> list[tuple[str, str]]:
    """(method, path) of every route that needs the producer's key, ids filled in."""
    found = []
    for router in routers():
        for route in router.routes:
            if isinstance(route, APIRoute) and needs_producer(route.dependant):
                path = re.sub(r"\{lang\}", "en", route.path)
                path = re.sub(r"\{[^}]+\}", WELL_FORMED_ID, path)
                found.extend((method, path) for method in sorted(route.methods))
    return found


def assert_error(resp: httpx.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"], body


def test_every_producer_route_checks_the_key_first() -> None:
    for router in routers():
        for route in router.routes:
            if isinstance(route, APIRoute) and needs_producer(route.dependant):
                assert isinstance(route, ProducerFirstRoute), (
                    f"{route.path}: declare APIRouter(route_class=ProducerFirstRoute)")


def test_every_producer_route_is_known() -> None:
    routes = producer_routes()
    assert ("PATCH", f"/v1/assets/{WELL_FORMED_ID}/captions/en") in routes
    assert ("PUT", "/v1/glossary") in routes
    assert ("POST", "/v1/assets") in routes
    assert len(routes) >= 10


@pytest.mark.parametrize(("method", "path"), producer_routes())
def test_anonymous_bad_json_gets_401_not_422(anon: httpx.Client, method: str,
                                             path: str) -> None:
    resp = anon.request(method, path, content=BAD_JSON,
                        headers={"Content-Type": "application/json"})
    assert_error(resp, 401, "missing_api_key")


@pytest.mark.parametrize(("method", "path"), producer_routes())
def test_wrong_key_with_bad_json_gets_403(anon: httpx.Client, method: str, path: str) -> None:
    resp = anon.request(method, path, content=BAD_JSON,
                        headers={"Content-Type": "application/json",
                                 "Authorization": "Bearer not-the-key"})
    assert_error(resp, 403, "invalid_api_key")


def test_producer_with_bad_json_still_gets_422(client: httpx.Client) -> None:
    resp = client.put("/v1/glossary", content=BAD_JSON,
                      headers={"Content-Type": "application/json"})
    assert_error(resp, 422, "invalid_request")


def over_cap_json() -> bytes:
    terms = ",".join(['"' + "x" * 90 + '"'] * (CAP // 92 + 100))
    body = f'{{"terms": [{terms}]}}'.encode()
    assert len(body) > CAP
    return body


def test_over_cap_json_body_is_refused(client: httpx.Client) -> None:
    body = over_cap_json()
    resp = client.put("/v1/glossary", content=body, headers={"Content-Type": "application/json"})
    assert_error(resp, 413, "body_too_large")


def test_over_cap_chunked_json_body_is_refused(client: httpx.Client) -> None:
    body = over_cap_json()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), CHUNK):
            yield body[i:i + CHUNK]

    resp = client.put("/v1/glossary", content=chunks(),
                      headers={"Content-Type": "application/json"})
    assert resp.request.headers.get("transfer-encoding") == "chunked"
    assert_error(resp, 413, "body_too_large")


def test_a_body_under_the_cap_is_served(client: httpx.Client) -> None:
    resp = client.put("/v1/glossary", json={"terms": ["Podium", "x" * 50]})
    assert resp.status_code == 200, resp.text
    assert client.put("/v1/glossary", json={"terms": []}).status_code == 200


# --------------------------------------------------------------------------- memory


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def api_pid(stack: Stack, tmp_path: Path) -> Iterator[tuple[str, int]]:
    port = _free_port()
    env = {**os.environ, **stack.env, "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "PODIUM_QUEUE_PREFIX": f"{stack.env['PODIUM_QUEUE_PREFIX']}lim{secrets.token_hex(2)}"}
    with api_proc.api_process(env, port, tmp_path / "api.log") as proc:
        yield f"http://127.0.0.1:{port}", proc.pid


def json_stream(size: int) -> Iterator[bytes]:
    """A JSON document of ``size`` bytes that never closes (bad JSON), in chunks."""
    yield b'{"terms": ["'
    sent = 12
    block = b"x" * CHUNK
    while sent < size:
        yield block
        sent += len(block)


def post_anonymously(url: str, chunked: bool) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if not chunked:
        headers["Content-Length"] = str(12 + ANONYMOUS_BODY)
    try:
        return httpx.put(f"{url}/v1/glossary", content=json_stream(ANONYMOUS_BODY),
                         headers=headers, timeout=httpx.Timeout(30))
    except (httpx.WriteError, httpx.RemoteProtocolError) as exc:  # pragma: no cover
        raise AssertionError(f"the API closed the connection without an answer: {exc}") from exc


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_anonymous_50_mb_body_is_refused_without_growing_the_api(
        api_pid: tuple[str, int], chunked: bool) -> None:
    url, pid = api_pid
    warm = httpx.put(f"{url}/v1/glossary", content=BAD_JSON,
                     headers={"Content-Type": "application/json"})
    assert_error(warm, 401, "missing_api_key")
    baseline = rss_bytes(pid)
    with RssSampler(pid) as sampler:
        resp = post_anonymously(url, chunked)
    # Content-Length over the cap: refused before anything else; chunked: the key comes first.
    if chunked:
        assert_error(resp, 401, "missing_api_key")
    else:
        assert_error(resp, 413, "body_too_large")
    growth = sampler.peak - baseline
    assert growth < MAX_GROWTH, f"the API grew by {growth / 2**20:.1f} MB"
    assert httpx.get(f"{url}/healthz").status_code == 200
