"""Error messages are public: no endpoint, bucket, object key or local path reaches a client or
a stored record; the logs keep them (finding 9)."""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.captions import asr
from ingest.errors import StorageError
from tests.conftest import Stack, upload
from tests.support import api_process as api_proc
from tests.support.media import make_clip
from tests.support.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]
WELL_FORMED_ID = "as-0123456789abcdef"
BUCKET = "podium-private-bucket-name"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_nothing_internal(text: str, *secrets_: str) -> None:
    assert not re.search(r"\b\d{1,3}(\.\d{1,3}){3}:\d+", text), text  # host:port
    assert "http://" not in text and "https://" not in text, text
    assert "assets/" not in text and "/tmp" not in text and ROOT.as_posix() not in text, text
    for secret in secrets_:
        assert secret not in text, text


# --------------------------------------------------------------------------- storage down


@pytest.fixture
def storage_down_api(stack: Stack, tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    """The API with its S3 endpoint on a port where nothing listens."""
    dead = f"127.0.0.1:{_free_port()}"
    port = _free_port()
    env = {**os.environ, **stack.env, "PODIUM_S3_ENDPOINT": f"http://{dead}",
           "PODIUM_S3_BUCKET": BUCKET, "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "PODIUM_QUEUE_PREFIX": f"{stack.env['PODIUM_QUEUE_PREFIX']}down{secrets.token_hex(2)}"}
    log = tmp_path / "api.log"
    with api_proc.api_process(env, port, log):
        yield f"http://127.0.0.1:{port}", log, dead


def test_storage_errors_name_nothing_internal(storage_down_api: tuple[str, Path, str],
                                             stack: Stack) -> None:
    url, log, dead = storage_down_api
    producer = {"Authorization": f"Bearer {stack.api_key}"}
    requests = [
        ("GET", f"/play/{WELL_FORMED_ID}.m3u8", {}, None),
        ("GET", f"/v1/assets/{WELL_FORMED_ID}/captions/en.vtt", {}, None),
        ("GET", f"/v1/assets/{WELL_FORMED_ID}", producer, None),
        ("GET", "/v1/glossary", producer, None),
        ("PUT", "/v1/glossary", producer, b'{"terms": ["x"]}'),
    ]
    with httpx.Client(base_url=url, timeout=120) as c:
        for method, path, headers, body in requests:
            resp = c.request(method, path, headers={**headers, "Content-Type": "application/json"},
                             content=body)
            assert resp.status_code == 503, (path, resp.text)
            error = resp.json()["error"]
            assert error == {"code": "storage_unavailable",
                             "message": StorageError.PUBLIC_MESSAGE}, (path, error)
            assert_nothing_internal(resp.text, dead, BUCKET, dead.split(":")[1])
    with httpx.Client(base_url=url, headers=producer, timeout=120) as c:
        form = upload(c, make_clip(log.parent / "tiny.mp4", seconds=1))
        assert form.status_code == 503, form.text
        assert_nothing_internal(form.text, dead, BUCKET)
    logged = log.read_text()
    assert "storage_unavailable" in logged and "assets/" in logged  # the log keeps the detail


# --------------------------------------------------------------------------- errored records


def test_asr_errors_keep_paths_out_of_the_message(tmp_path: Path) -> None:
    secret_dir = tmp_path / "secret-model-dir"
    secret_dir.mkdir()
    for call in (lambda: asr.verify_model(secret_dir, "0" * 64),
                 lambda: asr._check_model_files(secret_dir),
                 lambda: asr._vocabulary_size(secret_dir)):
        with pytest.raises(asr.AsrError) as caught:
            call()
        assert "secret-model-dir" not in caught.value.message
        assert "secret-model-dir" in str(caught.value)  # what the log shows


@pytest.fixture
def stack_with_broken_model(stack: Stack, tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """An API and a worker of their own (own queues), the worker pointed at a bad ASR model."""
    model_dir = tmp_path / "secret-model-dir"
    model_dir.mkdir()
    port = _free_port()
    env = {**os.environ, **stack.env, "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "PODIUM_ASR_MODEL_DIR": str(model_dir),
           "PODIUM_QUEUE_PREFIX": f"{stack.env['PODIUM_QUEUE_PREFIX']}asr{secrets.token_hex(2)}"}
    worker_log = tmp_path / "worker.log"
    worker = api_proc.start_worker(env, worker_log)
    try:
        with api_proc.api_process(env, port, tmp_path / "api.log"):
            yield f"http://127.0.0.1:{port}", model_dir, worker_log
    finally:
        api_proc.stop(worker)


def test_an_errored_track_names_no_path(stack_with_broken_model: tuple[str, Path, Path],
                                        stack: Stack, media_dir: Path) -> None:
    url, model_dir, worker_log = stack_with_broken_model
    clip = make_clip(media_dir / "exposure-2s.mp4", seconds=2)
    with httpx.Client(base_url=url, timeout=60,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as c:
        asset_id = upload(c, clip, title="exposure").json()["id"]

        def errored_track() -> dict[str, object] | None:
            asset = c.get(f"/v1/assets/{asset_id}").json()
            tracks = [t for t in asset["captions"] if t.get("error")]
            return tracks[0] if tracks else None

        track = wait_until(errored_track, timeout=240, interval=0.5, what="a failed track")
        asset = c.get(f"/v1/assets/{asset_id}").json()
        c.delete(f"/v1/assets/{asset_id}")
    error = track["error"]
    assert isinstance(error, dict) and error["code"] == "asr_model_missing", error
    errors = [asset["error"], *(t["error"] for t in asset["captions"])]
    assert_nothing_internal(str(errors), model_dir.name, str(model_dir))
    assert model_dir.name in worker_log.read_text()  # the worker's log keeps the detail
