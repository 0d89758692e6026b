"""`podium up`: start and supervise the whole stack on loopback, stop it all on Ctrl-C."""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from cli import services
from cli.services import Service
from config import Settings
from ingest.errors import StorageError
from ingest.live.rtmp import RtmpConfig, nginx_conf
from ingest.storage.s3 import Storage
from runtime.handles import storage_config

RESTART_BACKOFF_S = (1, 2, 5, 10, 30)
POLL_S = 0.5
"""How often podium up looks at its children: a dead worker's jobs are requeued this soon."""


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


def private_data_dir(data: Path) -> None:
    """var/ for this user only: the directory 0700, its logs 0600, and everything podium up and
    its children create from now on without group/other bits (umask 077)."""
    os.umask(0o077)
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    data.chmod(0o700)
    logs = data / "logs"
    if logs.is_dir():
        logs.chmod(0o700)
        for log in logs.iterdir():
            if log.is_file():
                log.chmod(0o600)


def with_password(url: str, password: str) -> str:
    """The Redis URL with ``password`` in it (children get the whole URL)."""
    parts = urlparse(url)
    host = f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"
    return urlunparse(parts._replace(netloc=f":{password}@{host}"))


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


def rtmp_conf(s: Settings) -> str:
    """nginx-rtmp's config: callbacks to this stack's API, play-back for the workers only."""
    hook = f"{(s.rtmp_hook_url or s.public_url).rstrip('/')}/internal/rtmp/{s.rtmp_hook_secret}"
    return nginx_conf(RtmpConfig(
        listen=f"{s.rtmp_bind}:{s.rtmp_port}", hook_base=hook,
        pid_file=(s.data_dir / "rtmp" / "nginx.pid").resolve(),
        play_allow=tuple(a.strip() for a in s.rtmp_play_allow.split(",") if a.strip())))


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
    env: dict[str, str] | None
    service: Service | None = None
    cwd: Path | None = None
    on_exit: Callable[[int], None] | None = None
    """Called with the pid of the process that just died (a worker's jobs are requeued)."""
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = field(default_factory=time.monotonic)


class Stack:
    def __init__(self, s: Settings, log_dir: Path) -> None:
        self.settings = s
        self.log_dir = log_dir
        self.infra: list[Supervised] = []
        self.children: list[Supervised] = []
        self.stopping = False

    def start_infra(self, env: dict[str, str], own_s3: bool) -> None:
        """Redis and SeaweedFS when they are ours to run; an own Redis gets a generated password,
        which reaches the children in ``env["PODIUM_REDIS_URL"]``."""
        s = self.settings
        if services.redis_answers(s.redis_url):
            print(f"redis      using {s.redis_url}")
        else:
            url = with_password(s.redis_url, secret_file(s.data_dir / "redis-password"))
            self._keep(services.start_redis(url, s.data_dir / "redis", self.log_dir))
            env["PODIUM_REDIS_URL"] = url
            print(f"redis      started on {s.redis_url} with a password (data in "
                  f"{s.data_dir / 'redis'}, password in {s.data_dir / 'redis-password'})")
        if own_s3:
            self._keep(services.start_seaweed(
                s.data_dir / "s3", self.log_dir, s.s3_bucket, s.s3_access_key,
                env["PODIUM_S3_SECRET_KEY"], s3_port=s.s3_port))
            print(f"seaweedfs  started, S3 on {env['PODIUM_S3_ENDPOINT']} "
                  f"(data in {s.data_dir / 's3'})")
        wait_for_storage(Storage(storage_config(s)))
        print(f"storage    bucket '{s.s3_bucket}' ready")
        self._keep(services.start_nginx_rtmp(rtmp_conf(s), s.data_dir / "rtmp", self.log_dir,
                                             s.rtmp_port))
        print(f"rtmp       nginx-rtmp on {s.rtmp_bind}:{s.rtmp_port} (speakers: "
              f"{s.rtmp_ingest_base}/<stream key>)")

    def _keep(self, svc: Service) -> None:
        """Supervise a store we started: restarted like a worker (same data, ports, keys)."""
        self.infra.append(Supervised(svc.name, svc.args, svc.env, service=svc, cwd=svc.cwd))

    def add(self, name: str, args: list[str], env: dict[str, str],
            on_exit: Callable[[int], None] | None = None) -> None:
        child = Supervised(name, args, env, on_exit=on_exit)
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
                time.sleep(POLL_S)
                # A store that dies is restarted like a worker; meanwhile the API answers 503
                # and jobs retry (transient errors), so nothing else has to stop.
                for child in [*self.infra, *self.children]:
                    self._check(child)
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
            print(f"{child.name} exited ({code}); restarting in {delay} s (see {svc.log_path})",
                  file=sys.stderr, flush=True)
            child.service = None
            child.next_start = now + delay
            if child.on_exit is not None and not self.stopping:
                child.on_exit(svc.proc.pid)
            return
        if now >= child.next_start:
            child.restarts += 1
            child.started_at = now
            child.service = services.spawn(child.name, child.args, self.log_dir, env=child.env,
                                           cwd=child.cwd)
            print(f"{child.name} restarted (pid {child.service.proc.pid})", flush=True)

    def stop(self) -> None:
        print("\nstopping...")
        for child in self.children:
            if child.service:
                child.service.proc.send_signal(signal.SIGTERM)
        for child in self.children:
            if child.service:
                child.service.stop(grace_s=15)
        for infra in reversed(self.infra):
            if infra.service:
                infra.service.stop()
        print("stopped")


def requeue_dead_worker(pid: int) -> None:
    """A worker child died: its started jobs go back to the front of their queues now."""
    from redis.exceptions import RedisError

    from runtime import handles
    from workers import lost

    started = time.monotonic()
    try:
        jobs = lost.requeue_jobs_of(handles.redis_connection(), lost.worker_name(pid))
    except RedisError as exc:  # Redis away: the heartbeat path requeues them later
        print(f"could not requeue the jobs of worker pid {pid}: {exc}", file=sys.stderr,
              flush=True)
        return
    if jobs:
        took_ms = (time.monotonic() - started) * 1000
        print(f"requeued {', '.join(jobs)} of the dead worker (pid {pid}) in {took_ms:.0f} ms",
              flush=True)


def api_port(public_url: str) -> int:
    return urlparse(public_url).port or 8000
