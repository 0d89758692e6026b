"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import shutil

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from api.deps import RedisDep, StorageDep
from api.metrics import refresh_queue_gauges

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(redis: RedisDep, storage: StorageDep) -> JSONResponse:
    """Redis, storage and ffmpeg are all reachable."""
    checks: dict[str, bool] = {}
    try:
        checks["redis"] = bool(redis.ping())
    except RedisError:
        checks["redis"] = False
    checks["storage"] = storage.ping()
    checks["ffmpeg"] = bool(shutil.which("ffmpeg") and shutil.which("ffprobe"))
    ok = all(checks.values())
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks},
                        status_code=200 if ok else 503)


@router.get("/metrics")
def metrics(redis: RedisDep) -> Response:
    """Prometheus text format."""
    refresh_queue_gauges(redis)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
