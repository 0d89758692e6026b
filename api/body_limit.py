"""A cap on every request body, before any route reads it (pure ASGI, nothing buffered).

A body whose Content-Length passes the cap is refused with 413 before the route runs; a
chunked body is counted as it streams and refused once it passes the cap. Routes that take
large bodies (media uploads, caption files) are listed as ``RouteLimit``s with their own limit,
which they also enforce themselves; the cap then only stops what passes that limit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response, status_of
from config import Settings, get_settings
from ingest.errors import TooLarge

log = logging.getLogger(__name__)


class BodyTooLarge(TooLarge):
    code = "body_too_large"


@dataclass(frozen=True)
class RouteLimit:
    """A route with its own body limit: ``path`` as the route declares it (`{name}` segments),
    ``code`` the error code the route itself gives a body over that limit."""

    method: str
    path: str
    limit: Callable[[Settings], int]
    code: str = "body_too_large"
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\{[^/{}]+\\}", "[^/]+", re.escape(self.path))
        object.__setattr__(self, "pattern", re.compile(f"{regex}/?"))

    def matches(self, scope: Scope) -> bool:
        return scope["method"] == self.method and bool(self.pattern.fullmatch(scope["path"]))


class BodyLimitMiddleware:
    """Refuse request bodies over ``default`` bytes, or over the matched route's own limit."""

    def __init__(self, app: ASGIApp, default: int, routes: Sequence[RouteLimit] = ()) -> None:
        self.app = app
        self.default = default
        self.routes = tuple(routes)

    def limit_for(self, scope: Scope) -> tuple[int, str]:
        """The route's own limit and error code when it has one, else the default cap."""
        for route in self.routes:
            if route.matches(scope):
                return route.limit(get_settings()), route.code
        return self.default, BodyTooLarge.code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        limit, code = self.limit_for(scope)
        if declared is not None and declared > limit:
            await _refuse(limit, code)(scope, receive, send)
            return
        await _Counted(self.app, limit, code)(scope, receive, send)


class _Counted:
    """One request: count the bytes the app receives. Past the limit, the app is told the
    client went away (so it stops reading and cleans up, e.g. aborts a multipart upload);
    once it has returned, the client gets the 413 and nothing the app tried to send."""

    def __init__(self, app: ASGIApp, limit: int, code: str) -> None:
        self.app, self.limit, self.code = app, limit, code
        self.received = 0
        self.started = False
        self.refused = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted_receive() -> Message:
            if self.refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    self.refused = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if self.refused and not self.started:
                return  # the app's answer to the "disconnect": the 413 replaces it
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not self.refused or self.started:
                raise
            log.info("request body passed %d bytes; the route stopped with an error", self.limit)
        if self.refused and not self.started:
            await _refuse(self.limit, self.code)(scope, receive, send)


def _refuse(limit: int, code: str) -> ASGIApp:
    error = BodyTooLarge(f"The request body is larger than the limit of {limit} bytes.",
                         code=code)
    response = error_response(status_of(error), error.code, error.message)
    response.headers["Connection"] = "close"
    return response


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
