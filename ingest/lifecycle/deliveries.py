"""The lifecycle of a webhook delivery: `pending` until an attempt gets a 2xx (`succeeded`) or
retries run out (`failed`); both are final."""

from __future__ import annotations

from ingest.lifecycle.machine import StateMachine
from ingest.webhooks.models import Attempt, Delivery, DeliveryState

D = DeliveryState
MAX_ATTEMPTS_KEPT = 30

DELIVERY = StateMachine[DeliveryState](
    entity="webhook delivery",
    initial=frozenset({D.PENDING}),
    transitions={
        D.PENDING: frozenset({D.PENDING, D.SUCCEEDED, D.FAILED}),
        D.SUCCEEDED: frozenset(),
        D.FAILED: frozenset(),
    },
)


def record_attempt(delivery: Delivery, attempt: Attempt) -> None:
    """An attempt was made: a 2xx ends the delivery `succeeded`; anything else keeps it
    `pending` (RQ retries it)."""
    state = D.SUCCEEDED if attempt.succeeded else D.PENDING
    DELIVERY.check(delivery.state, state, delivery.id)
    delivery.attempts = [*delivery.attempts, attempt][-MAX_ATTEMPTS_KEPT:]
    delivery.state = state


def give_up(delivery: Delivery) -> None:
    """No retry is left (or the destination is refused): `failed`."""
    DELIVERY.check(delivery.state, D.FAILED, delivery.id)
    delivery.state = D.FAILED
