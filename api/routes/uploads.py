"""`/v1/uploads`: upload slots producers create and send to speakers (producers)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query
from starlette.concurrency import run_in_threadpool

from api import idempotency, upload_links
from api.deps import ProducerDep, ProducerFirstRoute, RedisDep, SettingsDep, SlotsDep, TransfersDep
from api.responses import PRODUCER, errors
from api.schemas import UploadCreate, UploadList, UploadPublic
from ingest.assets import quotas
from ingest.lifecycle.uploads import close_if_expired
from ingest.uploads.models import UploadSlot, new_slot_id
from workers import pipeline

router = APIRouter(prefix="/v1/uploads", tags=["uploads"], route_class=ProducerFirstRoute,
                   responses=errors(*PRODUCER, 400, 404, 409, 410, 503))
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


@router.post("", status_code=201, response_model=UploadPublic)
def create_upload(body: UploadCreate, api_key: ProducerDep, settings: SettingsDep,
                  slots: SlotsDep, redis: RedisDep,
                  idempotency_key: IdempotencyKey = None) -> UploadPublic:
    """A slot for one speaker: a page link, a tus endpoint and a raw PUT URL."""
    fields = body.checked(settings.max_duration_s)
    fingerprint = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    slot_id = new_slot_id()
    claim = idempotency.claim(redis, settings.queue_prefix, "uploads", api_key,
                              idempotency_key, slot_id, fingerprint)
    if claim.existing is not None:  # a retry: the slot the first request made
        return upload_links.public(slots.store.get(claim.existing), settings)
    try:
        now = datetime.now(UTC)
        slot = slots.create(UploadSlot(
            id=slot_id, title=fields.title, speaker=fields.speaker, language=fields.language,
            max_duration_s=fields.max_duration_s, created_at=now, updated_at=now,
            owner=quotas.owner_of(api_key),
            expires_at=(now + timedelta(seconds=fields.expires_in_s)).replace(microsecond=0)))
    except BaseException:
        claim.release()
        raise
    claim.done(slot.id, fingerprint)
    pipeline.expire_upload(redis, slot.id, slot.expires_at)
    return upload_links.public(slot, settings)


@router.get("", response_model=UploadList)
def list_uploads(_: ProducerDep, settings: SettingsDep, slots: SlotsDep,
                 transfers: TransfersDep,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50,
                 cursor: Annotated[str | None, Query(max_length=64)] = None) -> UploadList:
    """Upload slots, newest first, in pages."""
    items, next_cursor = slots.store.page(limit, cursor)
    items = [close_if_expired(slots, transfers, s) for s in items]
    return UploadList(items=[upload_links.public(s, settings) for s in items],
                      next_cursor=next_cursor)


@router.get("/{slot_id}", response_model=UploadPublic)
def get_upload(slot_id: str, _: ProducerDep, settings: SettingsDep,
               slots: SlotsDep, transfers: TransfersDep) -> UploadPublic:
    """One slot: `waiting` until its asset exists (`asset_created`, with `asset_id`)."""
    slot = close_if_expired(slots, transfers, slots.store.get(slot_id))
    return upload_links.public(slot, settings)


@router.post("/{slot_id}/cancel", response_model=UploadPublic)
async def cancel_upload(slot_id: str, _: ProducerDep, settings: SettingsDep,
                        slots: SlotsDep, transfers: TransfersDep) -> UploadPublic:
    """Close the link: it refuses data from now on; unfinished transfers are discarded."""
    slot = await run_in_threadpool(slots.cancel, slot_id)
    await run_in_threadpool(transfers.discard_unfinished, slot_id)
    return upload_links.public(slot, settings)


@router.post("/{slot_id}/lock", response_model=UploadPublic)
async def lock_upload(slot_id: str, _: ProducerDep, settings: SettingsDep,
                      slots: SlotsDep, transfers: TransfersDep) -> UploadPublic:
    """No new file through this link any more (the asset, if any, stays); an unfinished
    upload of a new version is discarded."""
    slot = await run_in_threadpool(slots.lock, slot_id)
    await run_in_threadpool(transfers.discard_unfinished, slot_id)
    return upload_links.public(slot, settings)
