"""`/v1/assets`: upload, list, show, delete, playback tokens (producers)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from redis import Redis
from starlette.concurrency import run_in_threadpool

from api import idempotency, tokens
from api.body_limit import RouteLimit
from api.deps import (
    ProducerDep,
    ProducerFirstRoute,
    RedisDep,
    SettingsDep,
    StoreDep,
    is_producer_request,
    producer_of,
)
from api.responses import PRODUCER, errors
from api.routes.play import TokenQuery, playable
from api.schemas import AssetCreate, AssetList, AssetPublic, PlaybackToken
from api.streaming_form import stream_form_to_storage
from config import Settings
from ingest.assets import quotas
from ingest.assets.models import Asset, Visibility, new_asset_id
from ingest.assets.store import AssetStore
from ingest.errors import NotFound, PodiumError, UploadTooLarge
from ingest.storage import keys
from workers import pipeline
from workers.events import asset_lifecycle

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/assets", tags=["assets"], route_class=ProducerFirstRoute,
                   responses=errors(*PRODUCER, 503))
FORM_OVERHEAD = 64 * 1024
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
BODY_LIMITS = [RouteLimit("POST", "/v1/assets", lambda s: s.max_upload_bytes + FORM_OVERHEAD,
                          code=UploadTooLarge.code)]
"""Uploads stream to storage under their own limit, far above the cap of other bodies."""
# The body is parsed as it streams (api.streaming_form), not by FastAPI: described here.
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"},
        "title": {"type": "string"}, "speaker": {"type": "string"},
        "language": {"type": "string", "description": "BCP-47, or `auto`"},
        "captions": {"type": "string", "enum": ["auto", "none"]},
        "visibility": {"type": "string", "enum": ["public", "private"]}}}}}}}


@router.post("", status_code=202, response_model=AssetPublic, responses=errors(400, 409, 415, 429),
             openapi_extra=UPLOAD_BODY)
async def create_asset(request: Request, api_key: ProducerDep, settings: SettingsDep,
                       store: StoreDep, redis: RedisDep,
                       idempotency_key: IdempotencyKey = None) -> AssetPublic:
    """Upload a video message (multipart `file` + fields); processing starts at once."""
    declared = request.headers.get("content-length")
    limit = settings.max_upload_bytes + FORM_OVERHEAD
    if declared and declared.isdigit() and int(declared) > limit:
        raise UploadTooLarge(f"The upload is larger than the limit of "
                             f"{settings.max_upload_bytes} bytes.")
    asset_id, owner = new_asset_id(), quotas.owner_of(api_key)
    claim = await run_in_threadpool(idempotency.claim, redis, settings.queue_prefix, "assets",
                                    api_key, idempotency_key, asset_id)
    if claim.existing is not None:  # a retry: the first request's asset, no second upload
        return AssetPublic.of(await run_in_threadpool(store.get, claim.existing),
                              settings.public_url)
    active = quotas.ActiveAssets(store, settings.queue_prefix)
    try:
        # before a byte is read: a key at its limit costs neither storage nor a worker
        await run_in_threadpool(active.reserve, owner, asset_id,
                                settings.max_active_assets_per_key)
        asset = await _receive(request, settings, store, redis, asset_id, owner)
    except BaseException:
        await run_in_threadpool(active.release, owner, asset_id)
        await run_in_threadpool(claim.release)
        raise
    await run_in_threadpool(claim.done, asset_id)
    return AssetPublic.of(asset, settings.public_url)


async def _receive(request: Request, settings: Settings, store: AssetStore, redis: Redis,
                   asset_id: str, owner: str) -> Asset:
    """Stream the form into the source object, record the asset and queue its processing."""
    key = keys.source(asset_id)
    form = await stream_form_to_storage(request.stream(), request.headers.get("content-type", ""),
                                        store.storage, key, settings.max_upload_bytes)
    try:
        fields = AssetCreate.from_form(form.fields, form.filename)
    except PodiumError:
        await run_in_threadpool(store.storage.delete_prefix, keys.asset_prefix(asset_id))
        raise
    asset = Asset(id=asset_id, title=fields.title, speaker=fields.speaker,
                  language=fields.language, visibility=fields.visibility,
                  caption_mode=fields.captions, source_filename=form.filename, owner=owner)
    await run_in_threadpool(asset_lifecycle().create, asset)
    await run_in_threadpool(pipeline.start, redis, asset_id)
    log.info("asset %s uploaded: %d bytes (%s)", asset_id, form.size, form.demuxer)
    return asset


@router.get("", response_model=AssetList, responses=errors(400))
def list_assets(_: ProducerDep, settings: SettingsDep, store: StoreDep,
                limit: Annotated[int, Query(ge=1, le=200)] = 50,
                cursor: Annotated[str | None, Query(max_length=64)] = None) -> AssetList:
    """Assets, newest first, in pages."""
    items, next_cursor = store.page(limit, cursor)
    return AssetList(items=[AssetPublic.of(a, settings.public_url) for a in items],
                     next_cursor=next_cursor)


@router.get("/{asset_id}", response_model=AssetPublic, responses=errors(404))
def get_asset(asset_id: str, _: ProducerDep, settings: SettingsDep,
              store: StoreDep) -> AssetPublic:
    """One asset with its live progress."""
    return AssetPublic.of(store.get(asset_id), settings.public_url)


@router.delete("/{asset_id}", status_code=204, responses=errors(404))
def delete_asset(asset_id: str, _: ProducerDep, store: StoreDep, redis: RedisDep) -> Response:
    """Delete the asset and every object stored for it."""
    owner = store.get(asset_id).owner
    pipeline.cancel_all(redis, asset_id)
    store.delete(asset_id)
    if owner is not None:  # a transcode of its key may have been cancelled: let the next in
        pipeline.transcode_ended(redis, store, owner, asset_id)
    return Response(status_code=204)


@router.get("/{asset_id}/poster.jpg", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}}, **errors(403, 404, 422)})
def poster(asset_id: str, request: Request, settings: SettingsDep, store: StoreDep,
           token: TokenQuery = None) -> Response:
    """The poster frame: producers (key or studio session) always, viewers as for playback."""
    if is_producer_request(request):
        producer_of(settings, request)
        asset = store.get(asset_id)
    else:
        asset = playable(store, settings, asset_id, token)
    if not asset.has_poster:
        raise NotFound(f"Asset {asset_id} has no poster frame yet.", code="poster_not_found")
    # a private frame is fetched by URLs without a token too (producers): no shared cache
    cache = "max-age=300" if asset.visibility == Visibility.PUBLIC else "private, max-age=300"
    return Response(store.storage.get_bytes(keys.poster(asset_id)), media_type="image/jpeg",
                    headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"})


@router.post("/{asset_id}/playback-tokens", status_code=201, response_model=PlaybackToken,
             responses=errors(404))
def create_playback_token(asset_id: str, _: ProducerDep, settings: SettingsDep,
                          store: StoreDep) -> PlaybackToken:
    """A token that lets a viewer play a private asset (`?token=`)."""
    store.get(asset_id)
    token, expires = tokens.issue(settings.playback_secret, f"asset:{asset_id}",
                                  settings.playback_token_ttl_s)
    return PlaybackToken(token=token, expires_at=datetime.fromtimestamp(expires, UTC))
