"""The event sink of Podium's processes: each event becomes one delivery per webhook that
wants its type, recorded in the delivery log and handed to ``enqueue`` (an RQ job, see
workers.pipeline.deliver_webhook). The same event emitted twice yields the same delivery ids,
which are recorded and queued once."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from ingest.events import Event
from ingest.webhooks.models import Delivery
from ingest.webhooks.store import DeliveryLog, WebhookStore

log = logging.getLogger(__name__)


def delivery_body(event: Event) -> str:
    return json.dumps(event.payload(), separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class WebhookSink:
    webhooks: WebhookStore
    deliveries: DeliveryLog
    enqueue: Callable[[str], object]
    """Queues the delivery of that id."""

    def emit(self, event: Event) -> None:
        body = delivery_body(event)
        for webhook in self.webhooks.list():
            if not webhook.wants(event.type):
                continue
            delivery = Delivery.of(event, webhook, body)
            if self.deliveries.add(delivery):
                self.enqueue(delivery.id)
                log.info("event %s (%s) → webhook %s: delivery %s queued", event.id,
                         event.type.value, webhook.id, delivery.id)
