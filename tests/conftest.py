"""The test run starts the real services it needs when nothing answers: Redis, SeaweedFS (S3),
the API (uvicorn in a thread) and an RQ worker process. Nothing is faked."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port as _free_port
from tests.support.ports import weed_port as _weed_port
from tests.support.wait import WaitTimeout, wait_until

ROOT = Path(__file__).resolve().parents[1]
TEST_REDIS_URL = os.environ.get("PODIUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need the running stack (or start processes of their own) are `integration`:
    `make unit` leaves them out and stays a matter of seconds."""
    for item in items:
        needs_stack = "stack" in getattr(item, "fixturenames", ())
        if needs_stack or "/tests/cli/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@dataclass
class Stack:
    redis_url: str
    s3_endpoint: str
    api_url: str
    api_key: str
    data_dir: Path
    env: dict[str, str]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Redis + SeaweedFS + settings in the environment, for the whole session."""
    from cli import services

    base = tmp_path_factory.mktemp("stack")
    logs = base / "logs"
    started: list[services.Service] = []
    redis_url = TEST_REDIS_URL
    if not services.redis_answers(redis_url):
        redis_url = f"redis://127.0.0.1:{_free_port()}/15"
        started.append(services.start_redis(redis_url, base / "redis", logs))
    secret = secrets.token_urlsafe(16)
    s3_endpoint = os.environ.get("PODIUM_TEST_S3_ENDPOINT")
    if s3_endpoint:
        access = os.environ["PODIUM_TEST_S3_ACCESS_KEY"]
        secret = os.environ["PODIUM_TEST_S3_SECRET_KEY"]
    else:
        access = "podium-test"
        for attempt in range(3):  # a parallel run may take the free family first
            port = _weed_port()
            try:
                started.append(services.start_seaweed(base / "s3", logs, "podium-test", access,
                                                      secret, s3_port=port))
                break
            except services.ServiceError:
                if attempt == 2:
                    raise
        s3_endpoint = f"http://127.0.0.1:{port}"
    api_port = _free_port()
    api_key = secrets.token_urlsafe(16)
    env = {
        "PODIUM_REDIS_URL": redis_url, "PODIUM_S3_ENDPOINT": s3_endpoint,
        "PODIUM_S3_ACCESS_KEY": access, "PODIUM_S3_SECRET_KEY": secret,
        "PODIUM_S3_BUCKET": "podium-test", "PODIUM_API_KEYS": api_key,
        "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
        "PODIUM_DATA_DIR": str(base / "var"),
        # own queues and keys per run: parallel runs on one Redis never meet
        "PODIUM_QUEUE_PREFIX": f"podiumtest{secrets.token_hex(3)}",
        "PODIUM_SIGNING_KEY": secrets.token_urlsafe(16),
        "PODIUM_MAINTENANCE_INTERVAL_S": "10", "PODIUM_JOB_MONITORING_INTERVAL_S": "5",
        "PODIUM_FFMPEG_THREADS": "2", "PODIUM_MAX_DURATION_S": "120",
        # the whole suite uploads with one key: the per-key limits are tested on their own
        "PODIUM_MAX_ACTIVE_ASSETS_PER_KEY": "1000", "PODIUM_MAX_TRANSCODES_PER_KEY": "1000",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from runtime import handles

    handles.reset()
    from cli.stack import wait_for_storage

    wait_for_storage(handles.storage())
    try:
        yield Stack(redis_url, s3_endpoint, f"http://127.0.0.1:{api_port}", api_key,
                    base / "var", env)
    finally:
        for svc in reversed(started):
            svc.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        handles.reset()


@pytest.fixture(scope="session")
def api_server(stack: Stack) -> Iterator[str]:
    """The real API served by uvicorn on a loopback port, in a thread of the test process."""
    import uvicorn

    from api.main import create_app

    port = int(stack.api_url.rsplit(":", 1)[1])
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 20, 0.05, "the API to start")
    yield stack.api_url
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def worker(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One real RQ worker process for the session; yields its log path."""
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    from tests.support.api_process import start_worker, stop

    # JSON lines: tests read the request id and the asset id of a job's lines from them
    proc = start_worker(dict(os.environ, **stack.env, PODIUM_LOG_FORMAT="json"), log_path)
    yield log_path
    stop(proc)


@pytest.fixture
def client(api_server: str, stack: Stack) -> Iterator[httpx.Client]:
    """An HTTP client with the producer's key."""
    with httpx.Client(base_url=api_server, timeout=60,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as c:
        yield c


@pytest.fixture
def anon(api_server: str) -> Iterator[httpx.Client]:
    """An HTTP client without credentials (a viewer)."""
    with httpx.Client(base_url=api_server, timeout=60) as c:
        yield c


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


def upload(client: httpx.Client, path: Path, **fields: str) -> httpx.Response:
    with path.open("rb") as fh:
        return client.post("/v1/assets", data=fields, files={"file": (path.name, fh)})


def wait_for(client: httpx.Client, asset_id: str, timeout_s: float = 180,
             statuses: tuple[str, ...] = ("ready", "errored")) -> dict[str, object]:
    seen: list[dict[str, object]] = [{}]

    def settled() -> dict[str, object] | None:
        seen[0] = client.get(f"/v1/assets/{asset_id}").json()
        return seen[0] if seen[0].get("status") in statuses else None

    try:
        return wait_until(settled, timeout_s, 0.3, f"asset {asset_id} to be {'/'.join(statuses)}")
    except WaitTimeout as exc:
        raise AssertionError(f"asset {asset_id} stuck: {seen[0]}") from exc


def wait_for_track(client: httpx.Client, asset_id: str, lang: str,
                   timeout_s: float = 120) -> dict[str, object]:
    """The asset's caption track ``lang`` once it is ready or errored."""
    seen: list[object] = [None]

    def settled() -> dict[str, object] | None:
        seen[0] = asset = client.get(f"/v1/assets/{asset_id}").json()
        track = next((t for t in asset["captions"] if t["language"] == lang), None)
        return dict(track) if track and track["status"] in ("ready", "errored") else None

    try:
        return wait_until(settled, timeout_s, 0.3, f"caption track {lang} of {asset_id}")
    except WaitTimeout as exc:
        raise AssertionError(f"caption track stuck: {seen[0]}") from exc
