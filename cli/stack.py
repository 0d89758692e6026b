"""`podium up`: start and supervise the whole stack on loopback, stop it all on Ctrl-C."""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from cli import services
from cli.services import Service
from config import Settings
from ingest.errors import StorageError
from ingest.storage.s3 import Storage
from runtime.handles import storage_config

RESTART_BACKOFF_S = (1, 2, 5, 10, 30)


def secret_file(path: Path, nbytes: int = 24) -> str:
    """Read a generated secret, or create it (0600) on first start. Never committed: var/."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def prepare_environment(s: Settings) -> dict[str, str]:
    """PODIUM_* values for the children: generated keys filled in where none were set."""
    data = s.data_dir
    env = {"PODIUM_DATA_DIR": str(data.resolve())}
    env["PODIUM_API_KEYS"] = s.api_keys or secret_file(data / "api-key")
    if not s.s3_endpoint:
        env["PODIUM_S3_SECRET_KEY"] = s.s3_secret_key or secret_file(data / "s3-secret")
        env["PODIUM_S3_ENDPOINT"] = f"http://127.0.0.1:{s.s3_port}"
    env["PODIUM_SIGNING_KEY"] = s.signing_key or secret_file(data / "signing-key")
    return env


def wait_for_storage(storage: Storage, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            storage.ensure_bucket()
            return
        except StorageError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@dataclass
class Supervised:
    """A child process restarted with backoff when it dies."""

    name: str
    args: list[str]
    env: dict[str, str]
    service: Service | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = field(default_factory=time.monotonic)


class Stack:
    def __init__(self, s: Settings, log_dir: Path) -> None:
        self.settings = s
        self.log_dir = log_dir
        self.infra: list[Service] = []
        self.children: list[Supervised] = []
        self.stopping = False

    def start_infra(self, env: dict[str, str], own_s3: bool) -> None:
        s = self.settings
        if services.redis_answers(s.redis_url):
            print(f"redis      using {s.redis_url}")
        else:
            self.infra.append(services.start_redis(s.redis_url, s.data_dir / "redis", self.log_dir))
            print(f"redis      started on {s.redis_url} (data in {s.data_dir / 'redis'})")
        if own_s3:
            self.infra.append(services.start_seaweed(
                s.data_dir / "s3", self.log_dir, s.s3_bucket, s.s3_access_key,
                env["PODIUM_S3_SECRET_KEY"], s3_port=s.s3_port))
            print(f"seaweedfs  started, S3 on {env['PODIUM_S3_ENDPOINT']} "
                  f"(data in {s.data_dir / 's3'})")
        wait_for_storage(Storage(storage_config(s)))
        print(f"storage    bucket '{s.s3_bucket}' ready")

    def add(self, name: str, args: list[str], env: dict[str, str]) -> None:
        child = Supervised(name, args, env)
        child.service = services.spawn(name, args, self.log_dir, env=env)
        self.children.append(child)

    def supervise(self) -> None:
        """Restart children that die, until Ctrl-C/SIGTERM."""
        signal.signal(signal.SIGTERM, lambda *_: self._request_stop())
        # Started as a background job (`make run &`, nohup), SIGINT arrives ignored and Python
        # would never raise KeyboardInterrupt: Ctrl-C / kill -INT must stop the stack anyway.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            while not self.stopping:
                time.sleep(1)
                for child in self.children:
                    self._check(child)
                for svc in self.infra:
                    if svc.proc.poll() is not None:
                        print(f"{svc.name} exited ({svc.proc.returncode}); see {svc.log_path}",
                              file=sys.stderr)
                        self.stopping = True
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def _request_stop(self) -> None:
        self.stopping = True

    def _check(self, child: Supervised) -> None:
        svc = child.service
        if svc is not None and svc.proc.poll() is None:
            return
        now = time.monotonic()
        if svc is not None:
            code = svc.proc.returncode
            delay = RESTART_BACKOFF_S[min(child.restarts, len(RESTART_BACKOFF_S) - 1)]
            if now - child.started_at > 60:
                child.restarts = 0
                delay = RESTART_BACKOFF_S[0]
            print(f"{child.name} exited ({code}); restarting in {delay} s", file=sys.stderr)
            child.service = None
            child.next_start = now + delay
            return
        if now >= child.next_start:
            child.restarts += 1
            child.started_at = now
            child.service = services.spawn(child.name, child.args, self.log_dir, env=child.env)

    def stop(self) -> None:
        print("\nstopping...")
        for child in self.children:
            if child.service:
                child.service.proc.send_signal(signal.SIGTERM)
        for child in self.children:
            if child.service:
                child.service.stop(grace_s=15)
        for svc in reversed(self.infra):
            svc.stop()
        print("stopped")


def api_port(public_url: str) -> int:
    return urlparse(public_url).port or 8000
