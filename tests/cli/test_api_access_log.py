"""`podium api` logs every request (uvicorn's access log) but never a token value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from api.access_log import REDACTED, redact
from tests.conftest import ROOT, Stack, _free_port
from tests.support.wait import wait_until

SECRETS = ("1900000000.PlaybackSecretValue", "UploadCapabilityValue")


def test_redact_replaces_every_token_value() -> None:
    line = ('127.0.0.1:5 - "GET /play/as-1.m3u8?token=abc.def&x=1&upload_token=zz HTTP/1.1" 200'
            ' /p?Token=%0A%23EXT" /q?a=1&token=')
    assert redact(line) == (
        f'127.0.0.1:5 - "GET /play/as-1.m3u8?token={REDACTED}&x=1&upload_token={REDACTED} '
        f'HTTP/1.1" 200 /p?Token={REDACTED}" /q?a=1&token={REDACTED}')
    assert redact("/play/as-1.m3u8 and tokens without a query") == (
        "/play/as-1.m3u8 and tokens without a query")


def test_redact_hides_the_rtmp_callback_secret() -> None:
    line = '127.0.0.1:5 - "POST /internal/rtmp/Kq9-secret_value/publish HTTP/1.1" 204'
    assert redact(line) == f'127.0.0.1:5 - "POST /internal/rtmp/{REDACTED}/publish HTTP/1.1" 204'


def test_podium_api_access_log_has_no_token(stack: Stack, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, **stack.env, "PODIUM_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    log = tmp_path / "api.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "api", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                assert proc.poll() is None, log.read_text()
                return False

        wait_until(up, timeout=60, what="podium api answers")
        httpx.get(f"{base}/play/as-0123456789abcdef.m3u8", params={"token": SECRETS[0]})
        httpx.get(f"{base}/v1/assets/as-0123456789abcdef/captions/en.vtt",
                  params={"lang": "en", "upload_token": SECRETS[1]})
        def logged() -> str:
            text = log.read_text()
            return text if "captions/en.vtt" in text else ""

        text = wait_until(logged, timeout=30, what="the access log line")
    finally:
        proc.terminate()
        proc.wait(20)
    assert "/play/as-0123456789abcdef.m3u8?token=" in text  # the access log is on
    assert f"?token={REDACTED}" in text and f"upload_token={REDACTED}" in text, text
    for secret in SECRETS:
        assert secret not in text, text
