"""The upload-slot job: a slot nobody finished is closed at its expiry and its bytes dropped."""

from __future__ import annotations

import logging

from ingest.errors import NotFound
from ingest.lifecycle.uploads import close_if_expired
from runtime import handles
from workers.events import slot_lifecycle

log = logging.getLogger(__name__)


def expire_slot(slot_id: str) -> str:
    """Idempotent: a slot already closed (or not yet expired, if its clock moved) is left be."""
    slots = slot_lifecycle()
    try:
        slot = slots.store.get(slot_id)
    except NotFound:
        return "gone"
    slot = close_if_expired(slots, handles.transfers(), slot)
    log.info("upload %s at its expiry: %s", slot_id, slot.status.value)
    return slot.status.value
