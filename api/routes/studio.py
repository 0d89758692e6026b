"""`/studio`: the producers' pages, their login, their scripts and the live list of assets.

Login trades the producer key for a signed session cookie (api.studio_session); the pages
then call the JSON API with that cookie, the CSRF token from their meta tag going along with
every change. The pages are one HTML shell whose script (`api/static/studio/`, plain ES
modules, no build step) renders the view named by the path; hls.js comes from npm like the
viewer page's. The CSP allows scripts and styles from this server only (no inline code).
`/studio/events` pushes the assets' status and progress as server-sent events, read from
Redis here (the progress of running jobs lives there) rather than polled by the browser.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from html import escape
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.concurrency import run_in_threadpool

from api import studio_revocations, studio_session
from api.deps import (
    ProducerDep,
    ProducerFirstRoute,
    RedisDep,
    SettingsDep,
    StoreDep,
    check_bearer,
)
from api.responses import PRODUCER, errors
from api.routes.watch import hls_script_path, media_origins
from config import Settings
from ingest.assets.public import public_asset
from ingest.assets.store import AssetStore
from ingest.errors import NotFound, PodiumError
from runtime import handles

router = APIRouter(prefix="/studio", tags=["studio"], route_class=ProducerFirstRoute,
                   include_in_schema=False)
_HERE = Path(__file__).resolve().parents[1]
_STATIC = _HERE / "static" / "studio"
PAGES = {"messages", "uploads", "channels", "live"}
"""Views with a path of their own; `messages/{id}`, `captions/{id}` and `channels/{id}` too."""
EVENTS_INTERVAL_S = 1.0
EVENTS_LIMIT = 200
KEEPALIVE_EVERY = 15
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin",
           "X-Content-Type-Options": "nosniff"}


@lru_cache
def _template(name: str) -> Template:
    return Template((_HERE / "templates" / name).read_text(encoding="utf-8"))


def studio_csp(settings: Settings) -> str:
    """Scripts, styles and images from here only (no inline code); media as the viewer page's."""
    origins = media_origins(settings)
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        f"media-src 'self' blob: data: {origins}",
        f"connect-src 'self' {origins}",
        "worker-src 'self' blob:",  # hls.js's transmuxer
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _page(html: str, settings: Settings, status_code: int = 200,
          headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(html, status_code=status_code, headers={
        **HEADERS, **(headers or {}),
        "Content-Security-Policy": studio_csp(settings)})


def _session_key(settings: Settings, request: Request) -> str | None:
    cookie = request.cookies.get(studio_session.COOKIE)
    if not cookie:
        return None
    return studio_revocations.live_key(settings.studio_secret, cookie, settings.api_key_list,
                                       handles.redis_connection())


def _login_page(settings: Settings, message: str = "", status_code: int = 200) -> HTMLResponse:
    notice = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    html = _template("studio_login.html").substitute(event=escape(settings.event_name),
                                                     notice=notice)
    return _page(html, settings, status_code)


@router.get("", response_class=HTMLResponse)
def studio_home(request: Request, settings: SettingsDep) -> Response:
    """The login form, or the message list for a producer already logged in."""
    if _session_key(settings, request):
        return RedirectResponse("/studio/messages", status_code=303)
    return _login_page(settings)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, settings: SettingsDep) -> Response:
    """Check the key once and answer with the session cookie (the key itself is not kept)."""
    origin = request.headers.get("origin")
    own = {studio_session.origin_of(settings.public_url),
           studio_session.origin_of(str(request.base_url))}
    # a cross-site form could otherwise log a victim into someone else's key: refused when the
    # browser names another origin, or (without an Origin header) says the post is cross-site
    cross_site = request.headers.get("sec-fetch-site", "").lower() == "cross-site"
    if (origin is not None and origin.lower() not in own) or (origin is None and cross_site):
        return _login_page(settings, "Log in from the studio's own page.", 403)
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    key = (form.get("key") or [""])[0].strip()
    try:
        check_bearer(settings, f"Bearer {key}")
    except PodiumError:
        return _login_page(settings, "That API key is not valid.", 403)
    cookie = studio_session.issue(settings.studio_secret, key, settings.studio_session_ttl_s)
    response = RedirectResponse("/studio/messages", status_code=303)
    response.set_cookie(studio_session.COOKIE, cookie, max_age=settings.studio_session_ttl_s,
                        path="/", httponly=True, samesite="strict",
                        secure=settings.public_url.startswith("https:"))
    return response


@router.post("/logout")
def logout(request: Request, _: ProducerDep, redis: RedisDep) -> Response:
    """End the session everywhere: revoked for its remaining life (a copy of the cookie stops
    working too) and dropped from the browser; the page sends its CSRF token."""
    cookie = request.cookies.get(studio_session.COOKIE)
    if cookie and not request.headers.get("authorization"):
        studio_revocations.revoke(redis, cookie)
    response = Response(status_code=204)
    response.delete_cookie(studio_session.COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _shell(request: Request, settings: Settings, view: str, item_id: str = "") -> Response:
    cookie = request.cookies.get(studio_session.COOKIE, "")
    if not _session_key(settings, request):
        return RedirectResponse("/studio", status_code=303)
    installed = hls_script_path().is_file()
    html = _template("studio.html").substitute(
        event=escape(settings.event_name), view=escape(view, quote=True),
        item_id=escape(item_id, quote=True),
        csrf=escape(studio_session.csrf_token(settings.studio_secret, cookie), quote=True),
        hls_script='<script src="/static/hls.min.js"></script>' if installed else "",
        **{f"nav_{p}": ' aria-current="page"' if view.startswith(p.rstrip("s")) else ""
           for p in sorted(PAGES)})
    return _page(html, settings)


@router.get("/static/{name}", response_class=FileResponse)
def studio_static(name: str) -> FileResponse:
    """The studio's own scripts and style sheet."""
    path = _STATIC / name
    media_type = MEDIA_TYPES.get(path.suffix)
    if media_type is None or "/" in name or not path.is_file():
        raise NotFound("No such studio file.", code="not_found")
    return FileResponse(path, media_type=media_type,
                        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@router.get("/events", responses=errors(*PRODUCER))
async def events(request: Request, _: ProducerDep, settings: SettingsDep,
                 store: StoreDep) -> StreamingResponse:
    """Server-sent events: `snapshot` (every asset), then `asset` and `removed` on changes;
    `expired` (and the end of the stream) once the session that opened it has expired."""
    cookie = "" if request.headers.get("authorization") else request.cookies.get(
        studio_session.COOKIE, "")

    def session_open() -> bool:  # a Bearer key cannot expire while the process runs
        return not cookie or studio_revocations.live_key(
            settings.studio_secret, cookie, settings.api_key_list,
            handles.redis_connection()) is not None
    return StreamingResponse(_asset_events(request, store, settings.public_url, session_open),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _rows(store: AssetStore, public_url: str) -> dict[str, dict[str, Any]]:
    items, _ = store.page(EVENTS_LIMIT, None)
    return {a.id: public_asset(a, public_url) for a in items}


class SharedRows:
    """The asset list read once per interval and process, whatever the number of open event
    streams (each read is a page of the index plus a few Redis reads per asset)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken: dict[tuple[int, str], tuple[float, dict[str, dict[str, Any]]]] = {}

    def get(self, store: AssetStore, public_url: str,
            max_age_s: float) -> dict[str, dict[str, Any]]:
        key = (id(store), public_url)
        with self._lock:
            hit = self._taken.get(key)
        if hit is not None and time.monotonic() - hit[0] < max_age_s:
            return hit[1]
        rows = _rows(store, public_url)
        with self._lock:
            self._taken[key] = (time.monotonic(), rows)
        return rows


SHARED_ROWS = SharedRows()


def sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _asset_events(request: Request, store: AssetStore, public_url: str,
                        session_open: Callable[[], bool]) -> AsyncIterator[str]:
    fresh_enough = EVENTS_INTERVAL_S / 2
    rows = await run_in_threadpool(SHARED_ROWS.get, store, public_url, fresh_enough)
    yield "retry: 2000\n" + sse("snapshot", list(rows.values()))
    quiet = 0
    while not await request.is_disconnected():
        await asyncio.sleep(EVENTS_INTERVAL_S)
        # the stream must not outlive the login that opened it (a Redis read: off the loop)
        if not await run_in_threadpool(session_open):
            yield sse("expired", {})
            return
        try:
            fresh = await run_in_threadpool(SHARED_ROWS.get, store, public_url, fresh_enough)
        except PodiumError:
            continue  # Redis or storage away for a moment: the next round catches up
        changes = [sse("asset", row) for aid, row in fresh.items() if rows.get(aid) != row]
        changes += [sse("removed", {"id": aid}) for aid in rows if aid not in fresh]
        rows = fresh
        quiet = 0 if changes else quiet + 1
        if changes:
            yield "".join(changes)
        elif quiet % KEEPALIVE_EVERY == 0:
            yield ": keep-alive\n\n"


@router.get("/{view}", response_class=HTMLResponse)
def studio_view(view: str, request: Request, settings: SettingsDep) -> Response:
    """The messages, upload links, channels or live streams view."""
    if view not in PAGES:
        raise NotFound("No such studio page.", code="not_found")
    return _shell(request, settings, view)


@router.get("/{view}/{item_id}", response_class=HTMLResponse)
def studio_item(view: str, item_id: str, request: Request, settings: SettingsDep) -> Response:
    """One message, its captions, or one channel."""
    page = {"messages": "message", "captions": "captions", "channels": "channel"}.get(view)
    if page is None:
        raise NotFound("No such studio page.", code="not_found")
    return _shell(request, settings, page, item_id)
