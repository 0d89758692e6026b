"""The upload-slot job: a slot nobody finished is closed at its expiry and its bytes dropped."""

from __future__ import annotations

import logging

from ingest.errors import NotFound
from ingest.uploads.transfers import expire_if_due
from runtime import handles

log = logging.getLogger(__name__)


def expire_slot(slot_id: str) -> str:
    """Idempotent: a slot already closed (or not yet expired, if its clock moved) is left be."""
    slots = handles.slot_store()
    try:
        slot = slots.get(slot_id)
    except NotFound:
        return "gone"
    slot = expire_if_due(slots, handles.transfers(), slot)
    log.info("upload %s at its expiry: %s", slot_id, slot.status.value)
    return slot.status.value
