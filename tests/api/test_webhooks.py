"""Webhooks end to end: a real receiver (tests/support/receiver.py) that answers 500 to the
first attempts on purpose and checks every signature with `standardwebhooks`; an API and a
worker process of this module's own (private destinations allowed, retries 1 s apart)."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Stack, upload
from tests.support.api_process import api_process, start_worker, stop
from tests.support.media import make_clip
from tests.support.receiver import Receiver, Route, receiver
from tests.support.speech import speech_clip
from tests.support.wait import wait_until

RETRIES = "1,1,1"
"""Three retries a second apart: four attempts in all."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def hooks_api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An API and a worker on queues and keys of their own, allowed to reach 127.0.0.1."""
    port = _free_port()
    logs = tmp_path_factory.mktemp("webhooks")
    env = dict(os.environ, **stack.env)
    env.update({"PODIUM_WEBHOOK_ALLOW_PRIVATE": "true", "PODIUM_WEBHOOK_RETRY_SCHEDULE": RETRIES,
                "PODIUM_QUEUE_PREFIX": f"podiumhooks{secrets.token_hex(3)}",
                "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{port}"})
    worker = start_worker(env, logs / "worker.log")
    try:
        with api_process(env, port, logs / "api.log"):
            yield f"http://127.0.0.1:{port}"
    finally:
        stop(worker)


@pytest.fixture
def hooks_client(hooks_api: str, stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hooks_api, timeout=60,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as c:
        yield c


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def create(client: httpx.Client, rx: Receiver, path: str, route: Route,
           events: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"url": rx.url(path)}
    if events is not None:
        body["events"] = events
    res = client.post("/v1/webhooks", json=body)
    assert res.status_code == 201, res.text
    hook: dict[str, Any] = res.json()
    route.secret = hook["secret"]
    rx.routes[path] = route
    return hook


def delivered(rx: Receiver, path: str, event_type: str, key: str, value: str) -> list[Any]:
    """Attempts at ``path`` of the event of that type whose data[key] is ``value``."""
    return [r for r in rx.at(path) if r.payload["type"] == event_type
            and r.payload["data"].get(key) == value]


def test_signed_deliveries_retried_until_accepted(hooks_client: httpx.Client, rx: Receiver,
                                                  media_dir: Path, tmp_path: Path) -> None:
    flaky = create(hooks_client, rx, "/all", Route(fail_first=2))
    down = create(hooks_client, rx, "/down", Route(always=500), events=["asset.errored"])
    assert flaky["secret"].startswith("whsec_") and flaky["events"] is None
    assert down["events"] == ["asset.errored"]
    listed = hooks_client.get("/v1/webhooks").json()["items"]
    assert {h["id"] for h in listed} >= {flaky["id"], down["id"]}
    assert all(h["secret"] is None for h in listed)
    assert hooks_client.get(f"/v1/webhooks/{flaky['id']}").json()["secret"] == flaky["secret"]

    before = _webhook_metrics(hooks_client)  # this module's own queues and keys
    clip, _ = speech_clip(media_dir / "webhooks-speech.mp4",
                          [("Welcome to the annual meeting of our company.", 0.5)], seconds=5)
    good = upload(hooks_client, clip, title="Hooks").json()["id"]
    whole = make_clip(media_dir / "webhooks-moov-end.mp4", seconds=3)
    half = tmp_path / "half.mp4"
    half.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    bad = upload(hooks_client, half, captions="none").json()["id"]

    expected = [("asset.ready", "id", good), ("captions.ready", "asset_id", good),
                ("asset.errored", "id", bad)]
    for event_type, key, value in expected:
        attempts = wait_until(
            lambda t=event_type, k=key, v=value: [
                r for r in delivered(rx, "/all", t, k, v) if r.answered == 204] and
            delivered(rx, "/all", t, k, v),
            timeout=240, interval=0.5, what=f"{event_type} of {value} accepted")
        # two failures on purpose, then accepted: one message, signed every time
        assert [r.answered for r in attempts] == [500, 500, 204], event_type
        assert len({r.msg_id for r in attempts}) == 1 and attempts[0].msg_id.startswith("msg_")
        assert all(r.verified for r in attempts)
        stamps = [int(r.headers["webhook-timestamp"]) for r in attempts]
        assert stamps == sorted(stamps)
        assert len({r.body for r in attempts}) == 1, "the same body on every retry"

    ready = delivered(rx, "/all", "asset.ready", "id", good)[0].payload["data"]
    assert ready["status"] == "ready" and ready["playback"]["hls"].endswith(f"/play/{good}.m3u8")
    assert ready["renditions"]
    track = delivered(rx, "/all", "captions.ready", "asset_id", good)[0].payload["data"]
    assert (track["language"], track["source"], track["status"]) == ("en", "asr", "ready")
    errored = delivered(rx, "/all", "asset.errored", "id", bad)[0].payload["data"]
    assert errored["status"] == "errored" and errored["error"]["code"] == "probe_failed"

    log = hooks_client.get(f"/v1/webhooks/{flaky['id']}/deliveries").json()["items"]
    mine = [d for d in log if d["event_id"] in {r.msg_id for r in rx.at("/all")}]
    assert sorted(d["type"] for d in mine) == sorted(t for t, _, _ in expected)
    for d in mine:
        assert d["state"] == "succeeded"
        assert [a["status_code"] for a in d["attempts"]] == [500, 500, 204]
        assert all(a["at"] for a in d["attempts"])

    # the filtered webhook got only asset.errored, and gave up after every retry
    def down_failed() -> list[Any]:
        items = hooks_client.get(f"/v1/webhooks/{down['id']}/deliveries").json()["items"]
        return [d for d in items if d["state"] == "failed"]

    [failed] = wait_until(down_failed, timeout=60, interval=0.5, what="delivery failed")
    assert failed["type"] == "asset.errored"
    assert [a["status_code"] for a in failed["attempts"]] == [500] * (1 + len(RETRIES.split(",")))
    assert {r.payload["type"] for r in rx.at("/down")} == {"asset.errored"}

    # /metrics counted every attempt: /all failed twice per event, /down four times
    added = {("podium_webhook_attempts_total", "failed"): 2 * 3 + 4,
             ("podium_webhook_attempts_total", "succeeded"): 3,
             ("podium_webhook_deliveries_total", "succeeded"): 3,
             ("podium_webhook_deliveries_total", "failed"): 1}
    wanted = {k: before.get(k, 0) + n for k, n in added.items()}
    wait_until(lambda: _webhook_metrics(hooks_client) == wanted, timeout=20, interval=0.3,
               what="webhook metrics")

    for hook in (flaky, down):
        assert hooks_client.delete(f"/v1/webhooks/{hook['id']}").status_code == 204
        gone = hooks_client.get(f"/v1/webhooks/{hook['id']}")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "webhook_not_found"


def test_a_finished_speaker_upload_announces_upload_asset_created(
        hooks_client: httpx.Client, rx: Receiver, media_dir: Path) -> None:
    from tusclient import client as tus_client

    hook = create(hooks_client, rx, "/uploads", Route(), events=["upload.asset_created"])
    slot = hooks_client.post("/v1/uploads", json={"title": "Remote", "speaker": "Ada"}).json()
    clip = make_clip(media_dir / "webhooks-upload.mp4", width=160, height=90, seconds=1)
    tus_client.TusClient(slot["tus_endpoint"]).uploader(file_path=str(clip)).upload()
    [attempt] = wait_until(lambda: delivered(rx, "/uploads", "upload.asset_created", "id",
                                             slot["id"]),
                           timeout=60, interval=0.3, what="upload.asset_created delivered")
    data = attempt.payload["data"]
    asset_id = hooks_client.get(f"/v1/uploads/{slot['id']}").json()["asset_id"]
    assert (data["status"], data["asset_id"], data["title"]) == ("asset_created", asset_id,
                                                               "Remote")
    assert attempt.verified
    # the speaker's links (and their capability token) never travel in a webhook
    token = slot["url"].split("token=")[1]
    assert token not in attempt.body.decode() and "url" not in data
    hooks_client.delete(f"/v1/webhooks/{hook['id']}")


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://localhost/hook", "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook", "http://169.254.169.254/latest/meta-data",
    "http://10.0.0.1/hook", "http://0x7f000001/hook", "http://0.0.0.0/hook"])
def test_private_destinations_are_refused(client: httpx.Client, url: str) -> None:
    """The session's API runs with the default: PODIUM_WEBHOOK_ALLOW_PRIVATE unset."""
    res = client.post("/v1/webhooks", json={"url": url})
    assert res.status_code == 422, res.text
    assert res.json()["error"]["code"] == "webhook_destination_refused"
    assert url not in {h["url"] for h in client.get("/v1/webhooks").json()["items"]}


@pytest.mark.parametrize(("body", "code"), [
    ({"url": "ftp://hooks.example/x"}, "invalid_webhook_url"),
    ({"url": "http://user:pw@127.0.0.1/x"}, "invalid_webhook_url"),
    ({"url": "https://hooks.example/x", "events": ["asset.deleted"]}, "invalid_request"),
    ({"events": ["asset.ready"]}, "invalid_request"),
])
def test_bad_webhook_bodies(client: httpx.Client, body: dict[str, Any], code: str) -> None:
    res = client.post("/v1/webhooks", json=body)
    assert res.status_code == 422 and res.json()["error"]["code"] == code, res.text


def test_webhooks_need_the_producer_key(anon: httpx.Client) -> None:
    assert anon.get("/v1/webhooks").status_code == 401
    assert anon.post("/v1/webhooks", json={"url": "https://hooks.example/x"}).status_code == 401
    assert anon.get("/v1/webhooks/wh-0123456789abcdef/deliveries").status_code == 401


def test_unknown_webhook(client: httpx.Client) -> None:
    for path in ("/v1/webhooks/wh-0123456789abcdef", "/v1/webhooks/nope/deliveries"):
        res = client.get(path)
        assert res.status_code == 404 and res.json()["error"]["code"] == "webhook_not_found"
    assert client.delete("/v1/webhooks/wh-0123456789abcdef").status_code == 404


def _webhook_metrics(client: httpx.Client) -> dict[tuple[str, str], float]:
    text = client.get("/metrics").text
    return {(s.name, s.labels.get("outcome") or s.labels["state"]): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name in ("podium_webhook_attempts_total", "podium_webhook_deliveries_total")}
