"""What a speaker's link opens: the tus 1.0.0 endpoint, the raw PUT URL and the slot's status.

Every request carries the slot's capability token (`?token=`), which opens this slot and no
other. Bodies are streamed: tus chunks into the transfer's S3 multipart upload
(ingest.uploads.transfers), a PUT body into the future asset's source object.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from redis import Redis
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from api import upload_links
from api.body_limit import RouteLimit
from api.deps import RedisDep, SettingsDep, SlotsDep, StoreDep, TransfersDep
from api.errors import error_response
from api.responses import errors
from config import Settings, get_settings
from ingest.assets import quotas
from ingest.assets.models import new_asset_id
from ingest.assets.store import AssetStore
from ingest.errors import InvalidInput, InvalidMedia, UnsupportedMediaType
from ingest.lifecycle.assets import AssetProcessing, check_replaceable
from ingest.lifecycle.uploads import SlotLifecycle, close_if_expired
from ingest.media.probe import SNIFF_BYTES, sniff_demuxer
from ingest.storage import keys
from ingest.storage.s3 import PART_SIZE, MultipartWriter, Storage
from ingest.uploads import completion, tus
from ingest.uploads.errors import TransferTooLarge
from ingest.uploads.models import Transfer, UploadSlot
from ingest.uploads.slots import ensure_open
from ingest.uploads.transfers import AppendSession, Transfers
from workers import pipeline
from workers.events import asset_lifecycle

router = APIRouter(prefix="/u/{slot_id}", tags=["speakers"], responses=errors(
    400, 403, 404, 409, 410, 412, 413, 415, 422, 423, 429, 460, 503))
BODY_LIMITS = [RouteLimit(method, f"/u/{{slot_id}}{path}", lambda s: s.max_upload_bytes,
                          code=TransferTooLarge.code)
               for method, path in (("POST", "/tus"), ("PATCH", "/tus/{transfer_id}"),
                                    ("PUT", "/file"))]
"""The speaker's file streams to storage under the upload limit, far above the cap of other
bodies (each route enforces it too, with tus's own answers)."""
TokenQuery = Annotated[str | None, Query(max_length=200)]
IDLE_TIMEOUT_S = 60.0
"""A body that sends nothing for this long counts as dropped (a vanished connection never
closes on its own), so the transfer's lock is not held for ever."""


def opened(settings: Settings, slots: SlotLifecycle, transfers: Transfers, slot_id: str,
            token: str | None, for_data: bool = False) -> UploadSlot:
    """The slot behind a valid token, expired on the way if its time is over; with
    ``for_data``, the reason it takes no bytes (cancelled, expired, locked...) is raised."""
    slot = slots.store.get(slot_id)
    upload_links.check_token(settings.playback_secret, slot_id, token)
    slot = close_if_expired(slots, transfers, slot)
    if for_data:
        ensure_open(slot)
    return slot


def _headers(transfer: Transfer | None = None, **extra: str) -> dict[str, str]:
    out = {"Tus-Resumable": tus.VERSION, "Cache-Control": "no-store"}
    if transfer is not None:
        out["Upload-Offset"] = str(transfer.offset)
        out["Upload-Length"] = str(transfer.length)
        out["Upload-Expires"] = tus.http_date(transfer.expires_at)
    out.update(extra)
    return out


def _unsupported_version(request: Request) -> Response | None:
    """412 for a client speaking another tus version (OPTIONS needs no version)."""
    if request.headers.get("tus-resumable") == tus.VERSION:
        return None
    response = error_response(412, "tus_version_unsupported",
                              f"This server speaks tus {tus.VERSION} (send Tus-Resumable).")
    response.headers["Tus-Version"] = tus.VERSION
    return response


async def _body(request: Request) -> AsyncIterator[bytes]:
    """The request body; a connection silent for IDLE_TIMEOUT_S is treated as dropped."""
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), IDLE_TIMEOUT_S)
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise ClientDisconnect() from exc
        if chunk:
            yield chunk


async def _append(request: Request, session: AppendSession,
                  transfers: Transfers) -> Transfer:
    """Stream the body into the session; keep what arrived if the client dropped (unless the
    chunk carried a checksum, which can then not be verified)."""
    dropped: ClientDisconnect | None = None
    try:
        try:
            async for chunk in _body(request):
                session.feed(chunk)
                if session.io_due():
                    await run_in_threadpool(session.io)
        except ClientDisconnect as exc:
            dropped = exc
        if dropped is not None and session.checksummed:
            raise dropped
        transfer = await run_in_threadpool(session.commit)
    except InvalidMedia:
        await run_in_threadpool(session.abandon)
        await run_in_threadpool(transfers.terminate, session.transfer.slot_id,
                                session.transfer.id)
        raise
    except BaseException:
        await run_in_threadpool(session.abandon)
        raise
    if dropped is not None:
        raise dropped
    return transfer


def _target(slots: SlotLifecycle, store: AssetStore, redis: Redis,
            slot: UploadSlot) -> tuple[str, int]:
    """Where the coming file goes: a new asset (version 0), or, once the slot's asset exists,
    the asset's next version (409 `asset_processing` while its current one is still processed)."""
    if slot.asset_id is None:
        return new_asset_id(), 0
    asset = store.get(slot.asset_id)
    check_replaceable(asset)
    if pipeline.captions_running(redis, asset.id):
        raise AssetProcessing(f"The captions of asset {asset.id} are still being made; its video "
                        "can be replaced once they are done.")
    return asset.id, slots.issue_version(slot.id, asset.version)


def _finish(slots: SlotLifecycle, redis: Redis, slot_id: str, asset_id: str,
            filename: str | None, version: int = 0) -> UploadSlot:
    """The upload is whole: the asset exists from now on (or takes this new version of its
    video) and its processing starts."""
    assets = asset_lifecycle()
    if version:
        replaced = completion.replace_video(slots, assets, slot_id, asset_id, version)
        if replaced is not None:
            if replaced.owner is not None:
                _active(get_settings(), assets.store).track(replaced.owner, replaced.id)
            pipeline.start(redis, replaced.id)
        return slots.store.get(slot_id)
    slot, asset = completion.create_asset(slots, assets, slot_id, asset_id, filename)
    if asset is not None:
        if asset.owner is not None:  # its reservation may have lapsed during a long upload
            _active(get_settings(), assets.store).track(asset.owner, asset.id)
        pipeline.start(redis, asset.id)
    return slot


def _active(settings: Settings, store: AssetStore) -> quotas.ActiveAssets:
    return quotas.ActiveAssets(store, settings.queue_prefix)


def _reserve(settings: Settings, store: AssetStore, slot: UploadSlot, asset_id: str) -> None:
    """Count the coming asset against the limit on work in flight of the key that made the
    slot, before a byte is stored (429 `too_many_jobs` at the limit)."""
    if slot.owner is not None:
        _active(settings, store).reserve(slot.owner, asset_id,
                                         settings.max_active_assets_per_key)


def _release(settings: Settings, store: AssetStore, slot: UploadSlot, asset_id: str) -> None:
    if slot.owner is not None:
        _active(settings, store).release(slot.owner, asset_id)


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    return int(raw) if raw and raw.isdigit() else None


# --- tus ----------------------------------------------------------------------------------------
@router.options("/tus", include_in_schema=False)
@router.options("/tus/{transfer_id}", include_in_schema=False)
def tus_options(settings: SettingsDep) -> Response:
    """tus discovery: version, extensions, the size limit and checksum algorithms."""
    return Response(status_code=204, headers={
        "Tus-Resumable": tus.VERSION, "Tus-Version": tus.VERSION,
        "Tus-Extension": ",".join(tus.EXTENSIONS),
        "Tus-Max-Size": str(settings.max_upload_bytes),
        "Tus-Checksum-Algorithm": ",".join(tus.CHECKSUM_ALGORITHMS)})


@router.post("/tus", status_code=201)
async def tus_create(slot_id: str, request: Request, settings: SettingsDep,
                     slots: SlotsDep, transfers: TransfersDep, store: StoreDep,
                     redis: RedisDep, token: TokenQuery = None) -> Response:
    """tus creation (and creation-with-upload): a new transfer of Upload-Length bytes."""
    if (bad := _unsupported_version(request)) is not None:
        return bad
    if "upload-defer-length" in request.headers:
        raise InvalidInput("Send Upload-Length: deferred lengths are not supported.",
                           code="invalid_tus_header")
    length = tus.parse_int("Upload-Length", request.headers.get("upload-length"))
    metadata = tus.parse_metadata(request.headers.get("upload-metadata"))
    if length > settings.max_upload_bytes:
        raise TransferTooLarge(f"The file is larger than the limit of "
                               f"{settings.max_upload_bytes} bytes.")
    slot = await run_in_threadpool(opened, settings, slots, transfers, slot_id, token, True)
    asset_id, version = await run_in_threadpool(_target, slots, store, redis, slot)
    await run_in_threadpool(_reserve, settings, store, slot, asset_id)
    try:
        transfer = await run_in_threadpool(transfers.create, slot, asset_id, length, metadata,
                                           settings.max_upload_bytes, version)
    except BaseException:
        await run_in_threadpool(_release, settings, store, slot, asset_id)
        raise
    # relative to the endpoint (tus allows it): right behind any proxy or path prefix
    location = f"tus/{transfer.id}?token={quote(token or '', safe='')}"
    headers = _headers(Location=location)
    headers["Upload-Expires"] = tus.http_date(transfer.expires_at)
    if request.headers.get("content-type") == tus.CONTENT_TYPE:
        transfer = await _patch(request, slots, transfers, redis, transfer,
                                offset=0)
        headers["Upload-Offset"] = str(transfer.offset)
    return Response(status_code=201, headers=headers)


@router.head("/tus/{transfer_id}")
async def tus_head(slot_id: str, transfer_id: str, request: Request, settings: SettingsDep,
                   slots: SlotsDep, transfers: TransfersDep,
                   redis: RedisDep, token: TokenQuery = None) -> Response:
    """The transfer's offset (after any chunk still being written is committed)."""
    if (bad := _unsupported_version(request)) is not None:
        return bad
    await run_in_threadpool(opened, settings, slots, transfers, slot_id, token)
    transfer = await run_in_threadpool(transfers.current, slot_id, transfer_id)
    if transfer.done:  # finishes what a crash may have interrupted; a no-op otherwise
        await run_in_threadpool(_finish, slots, redis, slot_id, transfer.asset_id,
                                transfer.filename, transfer.version)
    return Response(status_code=200, headers=_headers(transfer))


@router.patch("/tus/{transfer_id}", status_code=204)
async def tus_patch(slot_id: str, transfer_id: str, request: Request, settings: SettingsDep,
                    slots: SlotsDep, transfers: TransfersDep,
                    redis: RedisDep, token: TokenQuery = None) -> Response:
    """Append a chunk at Upload-Offset; the last one makes the asset."""
    if (bad := _unsupported_version(request)) is not None:
        return bad
    if request.headers.get("content-type") != tus.CONTENT_TYPE:
        raise UnsupportedMediaType(f"A PATCH body must be sent as {tus.CONTENT_TYPE}.")
    offset = tus.parse_int("Upload-Offset", request.headers.get("upload-offset"))
    await run_in_threadpool(opened, settings, slots, transfers, slot_id, token, True)
    transfer = await run_in_threadpool(transfers.get, slot_id, transfer_id)
    transfer = await _patch(request, slots, transfers, redis, transfer,
                            offset)
    return Response(status_code=204, headers=_headers(transfer))


async def _patch(request: Request, slots: SlotLifecycle, transfers: Transfers, redis: Redis,
                 transfer: Transfer, offset: int) -> Transfer:
    checksum = tus.parse_checksum(request.headers.get("upload-checksum"))
    session = await run_in_threadpool(transfers.begin, transfer.slot_id, transfer.id, offset,
                                      checksum, _declared_length(request))
    transfer = await _append(request, session, transfers)
    if transfer.done:
        await run_in_threadpool(_finish, slots, redis, transfer.slot_id,
                                transfer.asset_id, transfer.filename, transfer.version)
    return transfer


@router.delete("/tus/{transfer_id}", status_code=204)
async def tus_terminate(slot_id: str, transfer_id: str, request: Request,
                        settings: SettingsDep, slots: SlotsDep, transfers: TransfersDep,
                        token: TokenQuery = None) -> Response:
    """tus termination: the transfer and its bytes are dropped; later requests get 410."""
    if (bad := _unsupported_version(request)) is not None:
        return bad
    await run_in_threadpool(opened, settings, slots, transfers, slot_id, token)
    await run_in_threadpool(transfers.terminate, slot_id, transfer_id)
    return Response(status_code=204, headers=_headers())


# --- raw PUT ------------------------------------------------------------------------------------
@router.put("/file", status_code=201)
async def put_file(slot_id: str, request: Request, settings: SettingsDep, slots: SlotsDep,
                   transfers: TransfersDep, store: StoreDep, redis: RedisDep,
                   token: TokenQuery = None) -> JSONResponse:
    """The whole file as the request body (scripts: `curl -T talk.mp4 URL`), streamed."""
    declared = _declared_length(request)
    if declared is not None and declared > settings.max_upload_bytes:
        raise TransferTooLarge(f"The file is larger than the limit of "
                               f"{settings.max_upload_bytes} bytes.")
    slot = await run_in_threadpool(opened, settings, slots, transfers, slot_id, token, True)
    asset_id, version = await run_in_threadpool(_target, slots, store, redis, slot)
    await run_in_threadpool(_reserve, settings, store, slot, asset_id)
    try:
        size = await _stream_to(request, store.storage, keys.source(asset_id, version),
                                settings.max_upload_bytes)
    except BaseException:
        await run_in_threadpool(_release, settings, store, slot, asset_id)
        raise
    slot = await run_in_threadpool(_finish, slots, redis, slot_id, asset_id,
                                   request.headers.get("x-filename"), version)
    return JSONResponse({"id": slot.id, "status": slot.status.value, "asset_id": slot.asset_id,
                         "version": version, "size": size}, status_code=201)


async def _stream_to(request: Request, storage: Storage, key: str, max_bytes: int) -> int:
    """The body into ``key`` by multipart upload; sniffed before the first part is sent."""
    writer: MultipartWriter | None = None
    pending = bytearray()
    size = 0
    try:
        async for chunk in _body(request):
            size += len(chunk)
            if size > max_bytes:
                raise TransferTooLarge(f"The file is larger than the limit of {max_bytes} "
                                       f"bytes.")
            pending += chunk
            if writer is None and len(pending) >= SNIFF_BYTES:
                sniff_demuxer(bytes(pending[:SNIFF_BYTES]))
                writer = await run_in_threadpool(storage.multipart_writer, key,
                                                 "application/octet-stream")
            if writer is not None and len(pending) >= PART_SIZE:
                data = bytes(pending)
                pending.clear()
                await run_in_threadpool(writer.write, data)
        if writer is None:
            sniff_demuxer(bytes(pending[:SNIFF_BYTES]))  # short file: empty or a bad container
            writer = await run_in_threadpool(storage.multipart_writer, key,
                                             "application/octet-stream")
        if pending:
            await run_in_threadpool(writer.write, bytes(pending))
        await run_in_threadpool(writer.complete)
        return size
    except BaseException:
        if writer is not None:
            await run_in_threadpool(writer.abort)
        raise
