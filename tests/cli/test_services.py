"""The embedded stores are not open to other local processes (finding 12): SeaweedFS's filer and
volume ports refuse reads without the signing key, only the S3 gateway with credentials serves
objects; the secrets are files only this user can read."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from cli import services
from runtime import handles
from tests.conftest import Stack

SECRET = b"speaker's unreleased message " * 8


def _ports(stack: Stack) -> dict[str, int]:
    s3_port = urlparse(stack.s3_endpoint).port
    assert s3_port is not None
    offset = s3_port - services.DEFAULT_S3_PORT
    return {flag.split(".")[0]: port + offset for flag, port in services._WEED_PORTS.items()}


def _chunk_file_id(ports: dict[str, int], path: str) -> str:
    """The volume file id of the object's first chunk, from the filer's metadata (weed shell)."""
    shell = subprocess.run(
        [services.weed_executable(), "shell", f"-master=127.0.0.1:{ports['master']}",
         f"-filer=127.0.0.1:{ports['filer']}"],
        input=f"fs.meta.cat {path}\n", capture_output=True, text=True, timeout=60)
    found = re.search(r'"fileId":\s*"([0-9]+,[0-9a-f]+)"', shell.stdout)
    assert found, shell.stdout + shell.stderr
    return found.group(1)


@pytest.fixture
def stored_object(stack: Stack) -> str:
    if not stack.s3_endpoint.startswith("http://127.0.0.1") or "PODIUM_TEST_S3_ENDPOINT" in str(
            stack.env):
        pytest.skip("the tests' own SeaweedFS only")
    key = "tests/finding-12/secret.bin"
    handles.storage().put_bytes(key, SECRET, "application/octet-stream")
    return key


def test_filer_and_volume_ports_refuse_reads_without_the_key(
        stack: Stack, stored_object: str) -> None:
    ports = _ports(stack)
    bucket = stack.env["PODIUM_S3_BUCKET"]
    # the S3 gateway with credentials serves the object ...
    assert handles.storage().get_bytes(stored_object) == SECRET
    # ... without credentials it does not
    anon = httpx.get(f"{stack.s3_endpoint}/{bucket}/{stored_object}", timeout=10)
    assert anon.status_code == 403 and SECRET not in anon.content
    # the filer's HTTP port (weed mini's 8888) refuses the object, and the bucket listing
    for path in (f"/buckets/{bucket}/{stored_object}", f"/buckets/{bucket}/"):
        resp = httpx.get(f"http://127.0.0.1:{ports['filer']}{path}", timeout=10)
        assert resp.status_code == 401, (path, resp.status_code, resp.text[:200])
        assert SECRET not in resp.content
    # the volume server refuses the chunk even to one who learnt its file id
    fid = _chunk_file_id(ports, f"/buckets/{bucket}/{stored_object}")
    resp = httpx.get(f"http://127.0.0.1:{ports['volume']}/{fid}", timeout=10)
    assert resp.status_code == 401, resp.text[:200]
    assert SECRET not in resp.content


def test_security_toml_is_private_and_keeps_its_keys(tmp_path: Path) -> None:
    path = services.ensure_security_toml(tmp_path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    text = path.read_text()
    keys = re.findall(r'^key = "([0-9a-f]{64})"$', text, re.M)
    assert len(keys) == 4 and len(set(keys)) == 4
    assert services.ensure_security_toml(tmp_path).read_text() == text  # same on a restart
    assert "[jwt.filer_signing.read]" in text and "[jwt.signing.read]" in text
