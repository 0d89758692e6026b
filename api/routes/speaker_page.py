"""The speaker's page (an upload slot's `url`) and what it polls: `/u/{id}` and `/u/{id}/status`.

The page loads tus-js-client and hls.js from npm packages served here (`web/package.json`),
and its own script from `api/static/`; the Content-Security-Policy is the viewer page's (no
inline script, nothing from another site but the store's media).
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from html import escape
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from redis import Redis
from starlette.concurrency import run_in_threadpool

from api import tokens
from api.deps import RedisDep, SettingsDep, SlotsDep, StoreDep, TransfersDep
from api.errors import status_of
from api.responses import errors, pages
from api.routes.speaker import TokenQuery, opened
from api.routes.watch import content_security_policy, web_dir
from config import Settings
from ingest.assets.models import Asset
from ingest.assets.store import AssetStore
from ingest.errors import NotFound, PodiumError
from ingest.lifecycle.assets import check_replaceable
from ingest.uploads.models import UploadSlot
from ingest.uploads.slots import ensure_open
from workers import pipeline

router = APIRouter(tags=["speakers"])
SCRIPT = {200: {"content": {"text/javascript": {}}}, **errors(404)}
_TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "speaker.html"
_SCRIPT = Path(__file__).resolve().parents[1] / "static" / "speaker.js"
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff"}


@lru_cache
def _template() -> Template:
    return Template(_TEMPLATE.read_text(encoding="utf-8"))


def _size(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def render_page(slot: UploadSlot, settings: Settings, nonce: str) -> str:
    """The page's HTML; every value is escaped for the context it lands in."""
    limit = slot.max_duration_s or settings.max_duration_s
    length = (f"{limit / 60:g} minute{'' if limit == 60 else 's'}" if limit >= 60
              else f"{limit:g} seconds")
    return _template().substitute(
        nonce=nonce, slot_id=escape(slot.id, quote=True), title=escape(slot.title),
        event=escape(settings.event_name),
        for_line=f"For {escape(slot.speaker)}" if slot.speaker else "",
        duration_rule=f"At most {length} long.", max_duration=f"{limit:g}",
        max_bytes=str(settings.max_upload_bytes), max_size=_size(settings.max_upload_bytes),
        deadline=escape(f"{slot.expires_at:%A %d %B %Y, %H:%M} UTC"),
        deadline_iso=slot.expires_at.isoformat())


def _error_page(exc: PodiumError) -> HTMLResponse:
    body = (f"<!doctype html><meta charset=utf-8><title>Podium</title>"
            f"<p>{escape(exc.message)}</p>")
    return HTMLResponse(body, status_code=status_of(exc), headers={
        **PAGE_HEADERS, "Content-Security-Policy": "default-src 'none'"})


@router.get("/u/{slot_id}", response_class=HTMLResponse,
            responses={**errors(422), **pages(400, 403, 404, 409, 410, 503)})
async def speaker_page(slot_id: str, settings: SettingsDep, slots: SlotsDep,
                       transfers: TransfersDep, token: TokenQuery = None) -> HTMLResponse:
    """The page a speaker opens from the link: rules, drop zone, progress, preview."""
    try:
        slot = await run_in_threadpool(opened, settings, slots, transfers, slot_id, token)
    except PodiumError as exc:
        return _error_page(exc)
    nonce = secrets.token_urlsafe(16)
    return HTMLResponse(render_page(slot, settings, nonce), headers={
        **PAGE_HEADERS, "Content-Security-Policy": content_security_policy(settings, nonce)})


@router.get("/u/{slot_id}/status", responses=errors(400, 403, 404, 409, 410, 422, 503))
def speaker_status(slot_id: str, settings: SettingsDep, slots: SlotsDep, store: StoreDep,
                   transfers: TransfersDep, redis: RedisDep,
                   token: TokenQuery = None) -> JSONResponse:
    """What the page shows after sending: the slot, then its asset's progress and preview,
    and whether a new version may be sent now."""
    slot = opened(settings, slots, transfers, slot_id, token)
    return JSONResponse(_status(slot, store, settings, redis),
                        headers={"Cache-Control": "no-store"})


def _status(slot: UploadSlot, store: AssetStore, settings: Settings,
            redis: Redis) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": slot.id, "title": slot.title, "speaker": slot.speaker, "status": slot.status.value,
        "locked": slot.locked, "expires_at": slot.expires_at.isoformat(),
        "max_duration_s": slot.max_duration_s, "asset": None, "can_replace": False}
    if slot.asset_id is None:
        return body
    try:
        asset = store.get(slot.asset_id)
    except NotFound:
        return body
    hls = None
    if asset.playing_version is not None:  # the old version, while a new one is prepared
        token, _ = tokens.issue(settings.playback_secret, f"asset:{asset.id}",
                                settings.playback_token_ttl_s)
        hls = f"/play/{quote(asset.id, safe='')}.m3u8?token={quote(token, safe='')}"
    body["asset"] = {"id": asset.id, "status": asset.status.value,
                     "progress": asset.progress.model_dump(mode="json"),
                     "duration_s": asset.duration_s,
                     "error": asset.error.model_dump() if asset.error else None, "hls": hls,
                     "version": asset.version, "playing_version": asset.playing_version}
    body["can_replace"] = _can_replace(slot, asset, redis)
    return body


def _can_replace(slot: UploadSlot, asset: Asset, redis: Redis) -> bool:
    """Whether the link takes a new version now: open (not locked, cancelled or expired) and
    the current version processed, captions included (the upload routes refuse otherwise)."""
    try:
        ensure_open(slot)
        check_replaceable(asset)
    except PodiumError:
        return False
    return not pipeline.captions_running(redis, asset.id)


def _static(path: Path, what: str) -> FileResponse:
    if not path.is_file():
        raise NotFound(f"{what} is not installed on this server: run `npm ci --prefix web`.",
                       code="script_not_installed")
    return FileResponse(path, media_type="text/javascript",
                        headers={"Cache-Control": "max-age=300",
                                 "X-Content-Type-Options": "nosniff"})


@router.get("/static/tus.min.js", response_class=FileResponse, responses=SCRIPT)
def tus_script() -> FileResponse:
    """tus-js-client as installed from npm (web/package-lock.json pins the version)."""
    return _static(web_dir() / "node_modules" / "tus-js-client" / "dist" / "tus.min.js",
                   "tus-js-client")


@router.get("/static/speaker.js", response_class=FileResponse, responses=SCRIPT)
def speaker_script() -> FileResponse:
    return _static(_SCRIPT, "The speaker page's script")


