"""A real nginx-rtmp for the live tests, configured by `cli.stack.rtmp_conf` like `podium up`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from cli import services
from cli.stack import rtmp_conf
from config import get_settings
from runtime import handles
from tests.conftest import Stack
from tests.support.live import free_port


@dataclass(frozen=True)
class Rtmp:
    port: int
    base: str
    """`rtmp://127.0.0.1:{port}/live`"""


@pytest.fixture(scope="session")
def rtmp(stack: Stack, api_server: str) -> Iterator[Rtmp]:
    port = free_port()
    os.environ["PODIUM_RTMP_PORT"] = str(port)
    stack.env["PODIUM_RTMP_PORT"] = str(port)
    handles.reset()
    svc = services.start_nginx_rtmp(rtmp_conf(get_settings()), stack.data_dir / "rtmp",
                                    stack.data_dir / "logs", port)
    try:
        yield Rtmp(port, f"rtmp://127.0.0.1:{port}/live")
    finally:
        svc.stop()
        os.environ.pop("PODIUM_RTMP_PORT", None)
        handles.reset()


def create_stream(client: httpx.Client, **extra: object) -> dict[str, object]:
    resp = client.post("/v1/live-streams", json={"title": "Remote keynote",
                                                  "speaker": "Ada", **extra})
    assert resp.status_code == 201, resp.text
    body: dict[str, object] = resp.json()
    return body


def status_of(client: httpx.Client, stream_id: object) -> str:
    return str(client.get(f"/v1/live-streams/{stream_id}").json()["status"])
