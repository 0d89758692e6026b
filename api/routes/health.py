"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from redis.exceptions import RedisError

from api.deps import RedisDep
from api.metrics import exposition
from api.responses import errors
from config import get_settings
from runtime import handles

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])


class Readiness(BaseModel):
    status: str
    """`ready` or `not_ready`."""
    checks: dict[str, bool]
    """`redis`, `storage`, `ffmpeg`: whether each answered in time."""


CHECK_TIMEOUT_S = 1.5
"""Each readiness check's limit; they run side by side, so /readyz answers within about this."""
# Checks block on sockets: they run here, never on the event loop nor in the pool that serves
# sync routes. Each check has its own socket timeouts too, so a hung one frees its thread.
_CHECKS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readyz")


def _warm() -> None:
    try:  # the clients, built once: the first probe should not pay for that within its limit
        handles.storage()
        handles.readiness_redis()
    except Exception as exc:  # the probes themselves will say what is wrong
        log.warning("readiness clients not ready: %s", exc)


@asynccontextmanager
async def warm_checks(_: FastAPI) -> AsyncIterator[None]:
    """App lifespan: refuse to start without a signing secret nobody else can compute, then
    build the readiness probes' clients in the background."""
    get_settings().playback_secret  # noqa: B018 (raises when there is none)
    asyncio.get_running_loop().run_in_executor(_CHECKS, _warm)
    yield


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


def _redis_ok() -> bool:
    try:
        return bool(handles.readiness_redis().ping())
    except (RedisError, OSError):
        return False


def _storage_ok() -> bool:
    return handles.storage().ping()


def _ffmpeg_ok() -> bool:
    return bool(shutil.which("ffmpeg") and shutil.which("ffprobe"))


async def _check(fn: Callable[[], bool]) -> bool:
    """One check off the event loop; one that does not answer in time has failed."""
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(loop.run_in_executor(_CHECKS, fn), CHECK_TIMEOUT_S)
    except TimeoutError:
        return False
    except Exception as exc:  # a check that cannot even run (bad settings) is a failed one
        log.warning("readiness check %s failed: %s", getattr(fn, "__name__", fn), exc)
        return False


@router.get("/readyz", responses={
    200: {"model": Readiness, "description": "Every dependency answered"},
    503: {"model": Readiness, "description": "A dependency failed or did not answer in time"}})
async def readyz() -> JSONResponse:
    """Redis, storage and ffmpeg are all reachable (each checked within 1.5 s, side by side)."""
    names = ("redis", "storage", "ffmpeg")
    results = await asyncio.gather(_check(_redis_ok), _check(_storage_ok), _check(_ffmpeg_ok))
    checks = dict(zip(names, results, strict=True))
    ok = all(checks.values())
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks},
                        status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response, responses={
    200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}, **errors(503)})
def metrics(redis: RedisDep) -> Response:
    """The whole service in Prometheus text format (read from Redis: any API process answers
    for all of them); 503 while Redis is away."""
    return Response(exposition(redis), media_type=CONTENT_TYPE_LATEST)
