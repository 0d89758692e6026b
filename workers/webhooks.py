"""The delivery job: one signed POST of one event to one webhook, retried by RQ (with the
backoff of workers.pipeline.deliver_webhook) until the receiver answers 2xx.

Idempotent: a delivery that already succeeded or failed is left alone. The destination is
checked again before every attempt (DNS may have changed since the webhook was created); a
refused destination ends the delivery `failed` at once, since retrying cannot help.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from config import get_settings
from ingest.errors import TransientError
from ingest.lifecycle.deliveries import give_up, record_attempt
from ingest.webhooks import sending
from ingest.webhooks.destinations import (
    DestinationRefused,
    DestinationUnresolvable,
    check_destination,
)
from ingest.webhooks.models import Attempt, Delivery, DeliveryState, WebhookNotFound
from ingest.webhooks.signing import signed_headers
from runtime import handles
from workers import metrics

log = logging.getLogger(__name__)


class DeliveryFailed(TransientError):
    """The receiver did not answer 2xx (or could not be reached): RQ retries later."""

    code = "webhook_delivery_failed"


def deliver(delivery_id: str) -> str:
    """Make one attempt at the delivery; raise DeliveryFailed for RQ to retry unless 2xx."""
    deliveries = handles.delivery_log()
    delivery = deliveries.get(delivery_id)
    if delivery is None or delivery.state != DeliveryState.PENDING:
        return "gone" if delivery is None else delivery.state.value
    try:
        webhook = handles.webhook_store().get(delivery.webhook_id)
    except WebhookNotFound:
        return _end(delivery, "The webhook was deleted.")
    s = get_settings()
    try:
        dest = check_destination(webhook.url, s.webhook_allow_private)
    except DestinationRefused as exc:
        return _end(delivery, exc.message)
    except DestinationUnresolvable as exc:
        metrics.RECORDER.inc(metrics.WEBHOOK_ATTEMPTS, "failed")
        record_attempt(delivery, Attempt(at=datetime.now(UTC), error=exc.message))
        deliveries.save(delivery)
        raise DeliveryFailed(exc.message) from exc
    headers = signed_headers(webhook.secret, delivery.event_id, datetime.now(UTC), delivery.body)
    timeouts = sending.Timeouts(s.webhook_connect_timeout_s, s.webhook_read_timeout_s)
    attempt = sending.post(dest, headers, delivery.body, timeouts)
    record_attempt(delivery, attempt)
    deliveries.save(delivery)
    outcome = attempt.error or f"HTTP {attempt.status_code}"
    succeeded = delivery.state == DeliveryState.SUCCEEDED
    metrics.RECORDER.inc(metrics.WEBHOOK_ATTEMPTS, "succeeded" if succeeded else "failed")
    if succeeded:
        metrics.RECORDER.inc(metrics.WEBHOOK_DELIVERIES, "succeeded")
    log.info("delivery %s (%s, %s) to %s: %s", delivery.id, delivery.event_type.value,
             delivery.event_id, webhook.id, outcome)
    if succeeded:
        return "succeeded"
    raise DeliveryFailed(f"Delivery {delivery.id} to webhook {webhook.id}: {outcome}.")


def _end(delivery: Delivery, reason: str) -> str:
    log.warning("delivery %s failed for good: %s", delivery.id, reason)
    metrics.RECORDER.inc(metrics.WEBHOOK_DELIVERIES, "failed")
    record_attempt(delivery, Attempt(at=datetime.now(UTC), error=reason))
    give_up(delivery)
    handles.delivery_log().save(delivery)
    return "failed"


def on_delivery_failure(job: Any, connection: Any, exc_type: type[BaseException],
                        exc: BaseException, tb: TracebackType | None) -> None:
    """RQ failure callback: once no retry is left, the delivery is `failed`."""
    if job.retries_left:
        return
    deliveries = handles.delivery_log()
    delivery = deliveries.get(str(job.args[0]))
    if delivery is not None and delivery.state == DeliveryState.PENDING:
        log.error("delivery %s failed after every retry: %s", delivery.id, exc)
        metrics.RECORDER.inc(metrics.WEBHOOK_DELIVERIES, "failed")
        give_up(delivery)
        deliveries.save(delivery)
