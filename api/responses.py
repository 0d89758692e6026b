"""What the OpenAPI document says a route can answer besides its success: the error body and
the statuses, built by one helper so every router documents them the same way.

    router = APIRouter(prefix="/v1/things", tags=["things"], responses=errors(*PRODUCER, 503))

    @router.get("/{thing_id}", responses=errors(404))
    def get_thing(...): ...

`PRODUCER` (401, 403, 413, 422) fits every route behind the producer's key; add 400 where a
JSON body can be malformed, and 404, 409, 415, 429 or 503 where the route can answer them.
FastAPI merges a route's `responses` over its router's. `install` makes error bodies JSON in the
document even on routes whose success is a playlist, a WebVTT file or a page.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel


class ErrorDetail(BaseModel):
    code: str
    """Stable, snake_case, machine-readable (e.g. `asset_not_found`)."""
    message: str
    """A sentence for people."""


class ErrorBody(BaseModel):
    """Every error answer: `{"error": {"code", "message"}}`."""

    error: ErrorDetail


DESCRIPTIONS: dict[int, str] = {
    400: "Malformed request (form, cursor, client disconnected)",
    401: "No producer API key (`Authorization: Bearer <key>`)",
    403: "The key (or the playback token) does not allow this",
    404: "No such thing",
    409: "The thing is not in a state that allows this",
    410: "The upload slot or transfer has expired, was cancelled or is gone",
    412: "The client speaks another tus version (send Tus-Resumable: 1.0.0)",
    413: "The body is larger than its limit",
    415: "The body is not of a type this route takes",
    422: "A field or parameter is invalid",
    423: "The transfer is being written by another request",
    429: "Too many requests or jobs for this key: try again later",
    460: "The chunk's checksum does not match (tus checksum extension)",
    503: "Storage or Redis is unavailable: try again shortly",
}

PRODUCER = (401, 403, 413, 422)
"""What any route behind the producer's key can answer: no key, a wrong key, a body over the
request cap, invalid parameters."""


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for FastAPI: each status with its description and the ErrorBody schema."""
    return {status: {"model": ErrorBody, "description": DESCRIPTIONS[status]}
            for status in sorted(set(statuses))}


def pages(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a page that answers these statuses with an HTML error page (503 may
    also come as the JSON error body, from a Redis outage)."""
    html = {"text/html": {"schema": {"type": "string"}}}
    json_error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    return {status: {"description": DESCRIPTIONS[status],
                     "content": {**html, **(json_error if status == 503 else {})}}
            for status in sorted(set(statuses))}


def _error_bodies_as_json(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI files a route's extra responses under the route's own media type (text/html for
    a page); error answers are always JSON."""
    for operation in (op for ops in document.get("paths", {}).values() for op in ops.values()):
        for status, response in operation.get("responses", {}).items():
            content = response.get("content", {})
            refs = [str(c.get("schema", {}).get("$ref", "")) for c in content.values()]
            if (int(status) >= 400 and "application/json" not in content
                    and any(ref.endswith("/ErrorBody") for ref in refs)):
                response["content"] = {"application/json": next(iter(content.values()))}
    return document


def install(app: FastAPI) -> None:
    """Serve the OpenAPI document with every error body as JSON (see above)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _error_bodies_as_json(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
