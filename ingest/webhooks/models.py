"""A webhook (a producer's endpoint and the events it wants) and the log of its deliveries."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from ingest.errors import NotFound
from ingest.events import Event, EventType

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
"""Standard Webhooks: a random key of 24 to 64 bytes, shown as `whsec_` + base64."""


class WebhookNotFound(NotFound):
    code = "webhook_not_found"

    @classmethod
    def of(cls, webhook_id: str) -> WebhookNotFound:
        return cls(f"No webhook {webhook_id!r}.")


def new_webhook_id() -> str:
    return "wh-" + secrets.token_hex(8)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


class Webhook(BaseModel):
    id: str = Field(default_factory=new_webhook_id)
    url: str
    events: list[EventType] | None = None
    """The event types delivered; None: every type (including types added later)."""
    secret: str = Field(default_factory=new_secret)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def wants(self, event_type: EventType) -> bool:
        return self.events is None or event_type in self.events


class DeliveryState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Attempt(BaseModel):
    at: datetime
    status_code: int | None = None
    """The receiver's HTTP status; None when no answer came (see ``error``)."""
    error: str | None = None
    duration_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def delivery_id(event_id: str, webhook_id: str) -> str:
    """One delivery per (event, webhook), whatever emits the event twice: `dl-` + 16 hex."""
    return "dl-" + hashlib.sha256(f"{event_id}|{webhook_id}".encode()).hexdigest()[:16]


class Delivery(BaseModel):
    """One event for one webhook, with every attempt made to deliver it."""

    id: str
    webhook_id: str
    event_id: str
    """The `webhook-id` header of every attempt."""
    event_type: EventType
    body: str
    """The exact JSON posted on every attempt (signed with each attempt's timestamp)."""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    state: DeliveryState = DeliveryState.PENDING
    attempts: list[Attempt] = Field(default_factory=list)

    @classmethod
    def of(cls, event: Event, webhook: Webhook, body: str) -> Delivery:
        return cls(id=delivery_id(event.id, webhook.id), webhook_id=webhook.id,
                   event_id=event.id, event_type=event.type, body=body)
