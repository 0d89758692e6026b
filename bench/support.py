"""What the bench scripts share: a Podium stack of their own on loopback ports.

    stack = BenchStack.start(work, worker=True)   # Redis, SeaweedFS, the API (+ one worker)
    try:
        ... stack.api, stack.key, stack.env, stack.api_pid, stack.storage() ...
    finally:
        stack.stop()

Redis is the local one (database 13) when it answers, else a redis-server of its own.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cli import services  # noqa: E402
from ingest.storage.s3 import Storage, StorageConfig  # noqa: E402
from tests.support.ports import free_port, weed_port  # noqa: E402
from tests.support.wait import wait_until  # noqa: E402

MiB = 1024 * 1024
LOCAL_REDIS = "redis://127.0.0.1:6379/13"
BUCKET = ACCESS_KEY = "bench"


@dataclass
class BenchStack:
    work: Path
    api: str
    """The API's base URL."""
    key: str
    """The producer's API key."""
    env: dict[str, str]
    """The environment the API and worker run with (PODIUM_* settings)."""
    s3_port: int
    secret: str
    services: list[services.Service] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def api_pid(self) -> int:
        return self.procs[0].pid

    def storage(self) -> Storage:
        """A client of the stack's bucket, as the API's own."""
        storage = Storage(StorageConfig(endpoint=f"http://127.0.0.1:{self.s3_port}",
                                        region="us-east-1", bucket=BUCKET,
                                        access_key=ACCESS_KEY, secret_key=self.secret))
        storage.ensure_bucket()
        return storage

    @classmethod
    def start(cls, work: Path, *, worker: bool = False, **extra_env: str) -> BenchStack:
        """Start everything, logging to ``work``/stack.log; returns once /readyz answers 200."""
        api_port = free_port()
        stack = cls(work=work, api=f"http://127.0.0.1:{api_port}",
                    key=secrets.token_urlsafe(16), env={}, s3_port=weed_port(),
                    secret=secrets.token_urlsafe(16))
        try:
            redis_url = LOCAL_REDIS
            if not services.redis_answers(redis_url):
                redis_url = f"redis://127.0.0.1:{free_port()}/0"
                stack.services.append(services.start_redis(redis_url, work / "redis",
                                                           work / "logs"))
            stack.services.append(services.start_seaweed(work / "s3", work / "logs", BUCKET,
                                                         ACCESS_KEY, stack.secret,
                                                         s3_port=stack.s3_port))
            stack.env = {**os.environ, "PODIUM_REDIS_URL": redis_url,
                         "PODIUM_S3_ENDPOINT": f"http://127.0.0.1:{stack.s3_port}",
                         "PODIUM_S3_ACCESS_KEY": ACCESS_KEY, "PODIUM_S3_SECRET_KEY": stack.secret,
                         "PODIUM_S3_BUCKET": BUCKET, "PODIUM_API_KEYS": stack.key,
                         "PODIUM_PUBLIC_URL": stack.api, "PODIUM_DATA_DIR": str(work / "var"),
                         "PODIUM_QUEUE_PREFIX": f"bench{secrets.token_hex(3)}", **extra_env}
            log = (work / "stack.log").open("ab")
            stack.procs.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(api_port),
                 "--log-level", "warning"], cwd=ROOT, env=stack.env, stdout=log, stderr=log))
            if worker:
                stack.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "cli.main", "worker"], cwd=ROOT, env=stack.env,
                    stdout=log, stderr=log))
            wait_until(stack._ready, 60, 0.1, f"the API to be ready (log: {work}/stack.log)")
        except BaseException:
            stack.stop()
            raise
        return stack

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.api}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
            proc.wait(30)
        for svc in self.services:
            svc.stop()
