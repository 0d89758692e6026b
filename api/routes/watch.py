"""`/watch/{id}`: a viewer page that plays the asset with hls.js, and `/static/hls.min.js`.

hls.js is an npm package (`web/package.json`, installed by `make run` / `make test` into
`web/node_modules`); the page never loads scripts from anywhere but this server. Its inline
script and style carry a per-response nonce, so the Content-Security-Policy needs no
'unsafe-inline'; media and playlist fetches may go only to this server and to the store (or CDN)
that serves the presigned segment URLs.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from html import escape
from pathlib import Path
from string import Template
from urllib.parse import quote, urlsplit

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from api.deps import ChannelsDep, SettingsDep, StoreDep
from api.responses import errors
from api.routes.live import watchable
from api.routes.live_streams import LiveStoreDep
from api.routes.play import TokenQuery, playable
from config import Settings, get_settings
from ingest.errors import NotFound

router = APIRouter(tags=["viewer"])

_REPO = Path(__file__).resolve().parents[2]
_TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "watch.html"
_MISSING = ('<p class="notice">The player script (hls.js) is not installed on this server: '
            "run <code>make run</code> or <code>npm ci --prefix web</code>.</p>")


def web_dir() -> Path:
    """Where `npm ci --prefix web` put node_modules: `PODIUM_WEB_DIR`, else `<repo>/web`."""
    return get_settings().web_dir or _REPO / "web"


def hls_script_path() -> Path:
    return web_dir() / "node_modules" / "hls.js" / "dist" / "hls.min.js"


@lru_cache
def _template() -> Template:
    return Template(_TEMPLATE.read_text(encoding="utf-8"))


def _origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def media_origins(settings: Settings) -> str:
    """Where players fetch media: this server, the store (presigned URLs), the CDN if any."""
    media_hosts = [settings.public_url, settings.viewer_s3_endpoint]
    if settings.segment_delivery == "cdn":
        media_hosts.append(settings.cdn_base_url)
    return " ".join(dict.fromkeys(o for o in map(_origin, media_hosts) if o))


def content_security_policy(settings: Settings, nonce: str) -> str:
    """Scripts and styles from here (nonce for the inline ones); media from here and storage."""
    origins = media_origins(settings)
    return "; ".join([
        "default-src 'none'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'nonce-{nonce}'",
        "img-src 'self' data:",
        # data: for the empty `data:,WEBVTT` source hls.js gives the <track> elements it adds
        f"media-src 'self' blob: data: {origins}",
        f"connect-src 'self' {origins}",
        "worker-src 'self' blob:",  # hls.js runs its transmuxer in a blob: Web Worker
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ])


def _with_token(src: str, token: str | None) -> str:
    return f"{src}?token={quote(token, safe='')}" if token else src


def _player_page(settings: Settings, title: str, speaker_html: str, src: str,
                 wait: bool) -> HTMLResponse:
    """The one player page of /watch, /watch/live and /watch/live-streams: every value is
    escaped for the HTML context it lands in (``speaker_html`` by the caller); ``wait`` keeps
    asking for a playlist that does not exist yet (a live stream opened before it starts)."""
    nonce = secrets.token_urlsafe(16)
    installed = hls_script_path().is_file()
    html = _template().substitute(
        nonce=nonce, title=escape(title), speaker=speaker_html,
        notice="" if installed else _MISSING, src=escape(src, quote=True),
        wait="yes" if wait else "no",
        hls_script='<script src="/static/hls.min.js"></script>' if installed else "")
    return HTMLResponse(html, headers={
        "Content-Security-Policy": content_security_policy(settings, nonce),
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    })


def _speaker(text: str | None) -> str:
    return f'<p class="speaker">{escape(text)}</p>' if text else ""


@router.get("/watch/{asset_id}", response_class=HTMLResponse,
            responses=errors(403, 404, 422, 503))
def watch(asset_id: str, settings: SettingsDep, store: StoreDep,
          token: TokenQuery = None) -> HTMLResponse:
    """A viewer page playing the asset in the browser (hls.js, or native HLS without MSE)."""
    asset = playable(store, settings, asset_id, token)
    return _player_page(settings, asset.title or asset.id, _speaker(asset.speaker),
                        _with_token(f"/play/{quote(asset.id, safe='')}.m3u8", token), wait=False)


@router.get("/watch/live/{channel_id}", response_class=HTMLResponse,
            responses=errors(403, 404, 422, 503))
def watch_live(channel_id: str, settings: SettingsDep, channels: ChannelsDep,
               token: TokenQuery = None) -> HTMLResponse:
    """A viewer page playing a channel's live stream (the same player as `/watch/{id}`)."""
    channel = watchable(channels, settings, channel_id, token).channel
    return _player_page(settings, channel.name, _speaker("Live"),
                        _with_token(f"/live/{quote(channel.id, safe='')}.m3u8", token),
                        wait=False)


@router.get("/watch/live-streams/{stream_id}", response_class=HTMLResponse,
            responses=errors(404, 422, 503))
def watch_live_stream(stream_id: str, settings: SettingsDep,
                      store: LiveStoreDep) -> HTMLResponse:
    """A viewer page playing a speaker's live stream, live captions on (the same player)."""
    stream = store.get(stream_id)
    return _player_page(settings, stream.title,
                        _speaker(f"{stream.speaker} · live" if stream.speaker else "Live"),
                        f"/live-streams/{quote(stream.id, safe='')}.m3u8", wait=True)


@router.get("/static/hls.min.js", response_class=FileResponse,
            responses={200: {"content": {"text/javascript": {}}}, **errors(404)})
def hls_script() -> FileResponse:
    """hls.js as installed from npm (web/package-lock.json pins the version)."""
    path = hls_script_path()
    if not path.is_file():
        raise NotFound("hls.js is not installed on this server: run `npm ci --prefix web`.",
                       code="player_not_installed")
    return FileResponse(path, media_type="text/javascript",
                        headers={"Cache-Control": "max-age=3600",
                                 "X-Content-Type-Options": "nosniff"})
