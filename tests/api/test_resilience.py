"""The API when Redis is gone, and players embedded on other sites (CORS)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtime import handles
from tests.conftest import Stack, _free_port, upload
from tests.support.api_process import api_process
from tests.support.hung import hung_server
from tests.support.media import make_clip


@pytest.fixture
def api_without_redis(stack: Stack, tmp_path: Path) -> Iterator[str]:
    """The API as a process whose Redis does not answer (storage still does)."""
    port = _free_port()
    env = {**os.environ, **stack.env, "PODIUM_REDIS_URL": f"redis://127.0.0.1:{_free_port()}/0",
           "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    with api_process(env, port, tmp_path / "api.log"):
        yield f"http://127.0.0.1:{port}"


def test_redis_down_is_a_clear_503_before_anything_is_stored(
        api_without_redis: str, stack: Stack, media_dir: Path) -> None:
    with httpx.Client(base_url=api_without_redis, timeout=30,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"] is False
        assert ready.json()["checks"]["storage"] is True
        before = set(handles.storage().list_keys("assets/"))
        resp = upload(c, make_clip(media_dir / "no-redis.mp4", seconds=1))
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"]["code"] == "service_unavailable"
    # The per-key admission needs Redis, so the upload is refused before its body is read:
    # nothing half-made is left in the bucket, and the client knows to send it again (a kept
    # but unannounced upload would become a second asset on that retry).
    new = set(handles.storage().list_keys("assets/")) - before
    assert new == set()


def test_players_on_other_sites_may_read_playlists(anon: httpx.Client) -> None:
    origin = {"Origin": "https://summit.example"}
    resp = anon.get("/healthz", headers=origin)
    assert resp.headers["access-control-allow-origin"] == "*"
    preflight = anon.options("/v1/assets", headers={
        **origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 400  # producer calls never cross origins
    assert "Disallowed CORS" in preflight.text


@pytest.mark.parametrize("hung", ["storage", "redis"])
def test_readyz_answers_within_2_s_while_a_dependency_hangs(
        stack: Stack, tmp_path: Path, hung: str) -> None:
    """A store that accepts connections and never answers makes /readyz fail fast (503 within
    2 s, the other checks still reported), and /healthz stays 200."""
    port = _free_port()
    with hung_server() as hung_port:
        target = ({"PODIUM_S3_ENDPOINT": f"http://127.0.0.1:{hung_port}"} if hung == "storage"
                  else {"PODIUM_REDIS_URL": f"redis://127.0.0.1:{hung_port}/0"})
        env = {**os.environ, **stack.env, **target,
               "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        with api_process(env, port, tmp_path / "api.log"), \
                httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            for _ in range(3):  # again and again: hung checks must not pile up
                started = time.monotonic()
                ready = c.get("/readyz")
                elapsed = time.monotonic() - started
                assert ready.status_code == 503, ready.text
                assert elapsed < 2.0, f"/readyz took {elapsed:.2f} s"
                checks = ready.json()["checks"]
                assert checks[hung] is False
                assert checks["ffmpeg"] is True
                assert checks["redis" if hung == "storage" else "storage"] is True
                started = time.monotonic()
                assert c.get("/healthz").status_code == 200
                assert time.monotonic() - started < 1.0
