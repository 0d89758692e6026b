"""What Podium tells the outside world: event types, the event itself, and where events go.

An event is emitted by the lifecycle (ingest.lifecycle) after the change that caused it was
saved, once per transition. Its ``data`` is the public JSON of the thing (the Asset as the API
shows it for ``asset.*``). Sinks decide what happens next: the webhook sink
(ingest.webhooks.sink) enqueues one signed delivery per subscribed webhook.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel


class EventType(StrEnum):
    """Every event name of the contract (shared/contract.md, Webhooks)."""

    ASSET_READY = "asset.ready"
    ASSET_ERRORED = "asset.errored"
    CAPTIONS_READY = "captions.ready"
    UPLOAD_ASSET_CREATED = "upload.asset_created"
    CHANNEL_ITEM_STARTED = "channel.item_started"
    LIVE_STREAM_ACTIVE = "live_stream.active"
    LIVE_STREAM_DISCONNECTED = "live_stream.disconnected"
    LIVE_STREAM_ENDED = "live_stream.ended"


def new_event_id() -> str:
    """`msg_` + 24 hex digits: the `webhook-id` of every delivery (and retry) of the event."""
    return "msg_" + secrets.token_hex(12)


@dataclass(frozen=True)
class Event:
    type: EventType
    data: Mapping[str, Any]
    id: str = field(default_factory=new_event_id)
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))

    def payload(self) -> dict[str, Any]:
        """The body of a delivery (Standard Webhooks): `{"type", "timestamp", "data"}`."""
        return {"type": self.type.value, "timestamp": self.timestamp.isoformat(),
                "data": dict(self.data)}


class StoredEvent(BaseModel):
    """An event kept with the record whose change caused it, until the sink has it (the
    lifecycle's outbox): a retry or a later change sends it again under the same id."""

    id: str
    type: EventType
    timestamp: datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, event: Event) -> StoredEvent:
        return cls(id=event.id, type=event.type, timestamp=event.timestamp, data=dict(event.data))

    def event(self) -> Event:
        return Event(self.type, self.data, self.id, self.timestamp)


class EventSink(Protocol):
    """Where emitted events go. ``emit`` is called after the change was stored."""

    def emit(self, event: Event) -> None: ...


def hand_over(sink: EventSink, event: Event) -> None:
    """Give ``sink`` an event of a change already saved: a failing sink must not undo or fail
    the change, so it is logged loudly instead."""
    try:
        sink.emit(event)
    except Exception:
        logging.getLogger(__name__).exception(
            "event %s (%s) could not be handed to the sink", event.id, event.type.value)


class NoSink:
    """Drops events (scripts and tests that do not care about them)."""

    def emit(self, event: Event) -> None:
        return None


@dataclass
class CollectingSink:
    """Keeps events in memory, in order (tests, and callers that forward them in batches)."""

    events: list[Event] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        self.events.append(event)

    @property
    def types(self) -> list[EventType]:
        return [e.type for e in self.events]
