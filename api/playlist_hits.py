"""Playlist requests answered before routing, from what their routes hold (pure ASGI).

Viewers re-fetch playlists every few seconds: it is the service's hot path. Each playlist route
(`/play/{id}.m3u8`, `/play/{id}/{rendition}.m3u8`, `/live/{id}.m3u8`, `/live/{id}/{name}.m3u8`)
keeps what it rendered under the revision of the record it read (api.revisions), and has a
`*_hit` function that answers with it when the revision in Redis is still the same. This layer
calls that function first, on the event loop: a hit costs one Redis GET, no routing, no
dependency solving, no thread hand-off and no record. Anything else (a miss, a refusal, a
query or header the route would validate differently) goes on to the route unchanged, which
answers as it always did.

It sits inside the metrics, body-limit and CORS middlewares, so a hit is counted under its
route template and gets the same headers as the route's own answer.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from fastapi import Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from api.routes import live, play

TOKEN_MAX = 200
"""The routes' `token` limit (longer ones are the route's 422 to give)."""
IF_NONE_MATCH_MAX = 1000

Hit = Callable[..., Awaitable[Response | None]]


@dataclass(frozen=True)
class HotRoute:
    route: APIRoute
    hit: Hit
    """Called with the path parameters in order, then the token and If-None-Match."""
    params: tuple[str, ...]

    @property
    def pattern(self) -> re.Pattern[str]:
        return self.route.path_regex


def hot_routes() -> tuple[HotRoute, ...]:
    """The playlist routes and their hit functions."""
    by_endpoint = {route.endpoint: route for router in (play.router, live.router)
                   for route in router.routes if isinstance(route, APIRoute)}
    return (
        HotRoute(by_endpoint[play.multivariant], play.multivariant_hit, ("asset_id",)),
        HotRoute(by_endpoint[play.media], play.media_hit, ("asset_id", "rendition")),
        HotRoute(by_endpoint[live.live_multivariant], live.multivariant_hit, ("channel_id",)),
        HotRoute(by_endpoint[live.live_media], live.media_hit, ("channel_id", "name")),
    )


class PlaylistHits:
    """Answer playlist GETs their route holds an answer for; pass everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.routes = hot_routes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            response = await self._hit(scope)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _hit(self, scope: Scope) -> Response | None:
        path: str = scope["path"]
        if not path.endswith(".m3u8"):
            return None
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        for hot in self.routes:
            match = hot.pattern.match(path)
            if match is None:
                continue
            request = _plain_request(scope)
            if request is None:
                return None
            params = match.groupdict()
            response = await hot.hit(*(params[name] for name in hot.params), *request)
            if response is not None:  # as the router would have left it, for the metrics
                scope["route"], scope["path_params"] = hot.route, params
            return response
        return None


def _plain_request(scope: Scope) -> tuple[str | None, str | None] | None:
    """(token, If-None-Match) when both are plain enough to be read as the route reads them;
    None sends the request to the route (a repeated or oversized value: its own answer)."""
    token = None
    raw = scope.get("query_string", b"")
    if raw:
        tokens = [v for k, v in parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
                  if k == "token"]
        if len(tokens) > 1 or (tokens and len(tokens[0]) > TOKEN_MAX):
            return None
        token = tokens[0] if tokens else None
    if_none_match = None
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            if if_none_match is not None or len(value) > IF_NONE_MATCH_MAX:
                return None
            if_none_match = value.decode("latin-1")
    return token, if_none_match
