"""CORS for the speaker's paths (`/u/...`): the upload page may live on another site.

The app-wide CORSMiddleware allows only GET (players); tus needs POST, HEAD, PATCH, DELETE and
its own headers, readable by the page (tus-js-client reads Location and Upload-Offset). The
capability token in the URL is the credential, so no cookies are ever allowed.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/u/"
ALLOW_METHODS = "GET, HEAD, POST, PATCH, PUT, DELETE, OPTIONS"
ALLOW_HEADERS = ("Tus-Resumable, Upload-Length, Upload-Metadata, Upload-Offset, "
                 "Upload-Checksum, Upload-Defer-Length, Upload-Concat, Content-Type, "
                 "X-HTTP-Method-Override, X-Requested-With, X-Filename")
EXPOSE_HEADERS = ("Location, Upload-Offset, Upload-Length, Tus-Resumable, Upload-Expires, "
                  "Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm")


class SpeakerCors:
    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.any = "*" in origins
        self.origins = set(origins)

    def _allowed(self, origin: str) -> str | None:
        if self.any:
            return "*"
        return origin if origin in self.origins else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = self._allowed(origin) if origin else None
        if (scope["method"] == "OPTIONS" and origin
                and "access-control-request-method" in headers):
            preflight = {"Access-Control-Allow-Methods": ALLOW_METHODS,
                         "Access-Control-Allow-Headers": ALLOW_HEADERS,
                         "Access-Control-Max-Age": "86400", "Vary": "Origin"}
            if allowed:
                preflight["Access-Control-Allow-Origin"] = allowed
            await Response(status_code=204 if allowed else 403, headers=preflight)(
                scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and allowed:
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = allowed
                out["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
                out.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)
