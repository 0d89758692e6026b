"""Every error leaves the API as `{"error": {"code", "message"}}` with a fitting status.

Domain errors carry codes, never statuses: ``STATUS_BY_CODE`` is the one table that maps them,
and ``status_of`` falls back on the kind of error (the nearest base class with a code in the
table) for codes a raise site made more specific.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from ingest.errors import PodiumError
from runtime import logs

log = logging.getLogger(__name__)
REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_SCOPE_KEY = "podium.request_id"
"""Where api.metrics.RequestMetrics leaves the request's id in the ASGI scope."""

STATUS_BY_CODE: dict[str, int] = {
    # kinds (base classes): what a more specific code of that kind answers
    "podium_error": 400,
    "invalid_request": 422,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "missing_api_key": 401,
    "invalid_api_key": 403,
    "not_found": 404,
    "conflict": 409,
    "quota_exceeded": 429,
    "processing_failed": 422,
    "invalid_media": 422,
    "limit_exceeded": 422,
    "transient_failure": 503,
    "storage_unavailable": 503,
    "service_unavailable": 503,
    "ffmpeg_failed": 500,
    # specific codes whose status differs from their kind's
    "invalid_form": 400,
    "file_required": 422,
    "invalid_cursor": 400,
    "client_disconnected": 400,
    "upload_too_large": 413,
    "caption_too_large": 413,
    "caption_not_utf8": 415,
    "caption_binary": 415,
    "caption_format_unknown": 415,
    "caption_ass_unsupported": 415,
    "asset_has_no_audio": 422,
    "translation_unavailable": 409,
    "asset_busy": 503,
    "upload_expired": 410,
    "upload_cancelled": 410,
    "transfer_gone": 410,
    "checksum_mismatch": 460,
    "checksum_algorithm_unsupported": 400,
    "invalid_tus_header": 400,
    "transfer_locked": 423,
    "upload_busy": 503,
    "too_many_jobs": 429,
}
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
               415: "unsupported_media_type", 422: "invalid_request", 429: "too_many_requests",
               410: "gone"}


def status_of(exc: PodiumError) -> int:
    """The HTTP status of a domain error: its code's, else its nearest kind's."""
    if exc.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[exc.code]
    for kind in type(exc).__mro__:
        code = getattr(kind, "code", None)
        if isinstance(code, str) and code in STATUS_BY_CODE:
            return STATUS_BY_CODE[code]
    return 500


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(PodiumError)
    async def podium_error(_: Request, exc: PodiumError) -> JSONResponse:
        status = status_of(exc)
        # The message is public; the detail (keys, endpoints, causes) only goes to the log.
        if status >= 500:
            log.error("%s: %s", exc.code, exc)
        elif exc.detail:
            log.info("%s: %s", exc.code, exc)
        return error_response(status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
        return error_response(422, "invalid_request", "; ".join(parts) or "Invalid request.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RedisError)
    async def redis_down(_: Request, exc: RedisError) -> JSONResponse:
        log.error("redis unavailable: %s", exc)
        return error_response(503, "service_unavailable",
                              "The queue service is unavailable; try again shortly.")

    @app.exception_handler(ClientDisconnect)
    async def client_gone(_: Request, exc: ClientDisconnect) -> JSONResponse:
        # the client hung up mid-upload: not a server error (the upload was already aborted)
        log.info("client disconnected during the request")
        return error_response(400, "client_disconnected", "The client closed the connection.")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette answers this one outside every middleware: the request id is taken back
        # from the scope, for the log line and the answer.
        request_id = request.scope.get(REQUEST_ID_SCOPE_KEY) or logs.new_request_id()
        with logs.RequestContext(request.scope, request_id):
            log.exception("unhandled error")
        response = error_response(500, "internal_error", "Something went wrong on our side.")
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
