"""Webhooks in the bucket (`webhooks/{id}/webhook.json`, the truth) with a Redis copy the event sink
reads on every event; delivery logs in Redis, the last ``keep`` per webhook.

Redis may be flushed: the webhook copy is rebuilt from the bucket when its marker is gone.
Deliveries live with their RQ jobs in Redis, so a flush loses both together.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError
from redis import Redis

from ingest.errors import NotFound
from ingest.storage import keys
from ingest.storage.s3 import Storage
from ingest.webhooks.models import Delivery, Webhook, WebhookNotFound

log = logging.getLogger(__name__)

DELIVERY_TTL_S = 14 * 24 * 3600
"""Longer than any retry schedule: a delivery record outlives its last retry."""


class WebhookStore:
    def __init__(self, storage: Storage, redis: Redis, prefix: str = "podium") -> None:
        self.storage = storage
        self.redis = redis
        self._hash = f"{prefix}:webhooks"
        self._loaded = f"{prefix}:webhooks:loaded"

    def create(self, webhook: Webhook) -> Webhook:
        body = webhook.model_dump_json()
        self.storage.put_bytes(keys.webhook_record(webhook.id), body.encode(), "application/json")
        self._ensure_loaded()
        self.redis.hset(self._hash, webhook.id, body)
        return webhook

    def get(self, webhook_id: str) -> Webhook:
        if not keys.is_valid_id(webhook_id):
            raise WebhookNotFound.of(webhook_id)
        self._ensure_loaded()
        raw = self.redis.hget(self._hash, webhook_id)
        if raw is None:
            raise WebhookNotFound.of(webhook_id)
        return Webhook.model_validate_json(raw)

    def list(self) -> list[Webhook]:
        """Every webhook, oldest first."""
        self._ensure_loaded()
        raw: list[bytes] = self.redis.hvals(self._hash)  # type: ignore[assignment]
        return sorted((Webhook.model_validate_json(r) for r in raw),
                      key=lambda w: (w.created_at, w.id))

    def delete(self, webhook_id: str) -> None:
        self.get(webhook_id)
        self.storage.delete_prefix(keys.webhook_prefix(webhook_id))
        self.redis.hdel(self._hash, webhook_id)

    def _ensure_loaded(self) -> None:
        """After a Redis flush (the marker is gone), copy every record from the bucket."""
        if self.redis.exists(self._loaded):
            return
        pipe = self.redis.pipeline()
        for key in self.storage.list_keys(keys.WEBHOOKS_PREFIX):
            if not key.endswith("/webhook.json"):
                continue
            try:
                webhook = Webhook.model_validate_json(self.storage.get_bytes(key))
            except (NotFound, ValidationError) as exc:
                log.warning("skipping unreadable webhook record %s: %s", key, exc)
                continue
            pipe.hset(self._hash, webhook.id, webhook.model_dump_json())
        pipe.set(self._loaded, "1")
        pipe.execute()


class DeliveryLog:
    """Delivery records by id, and per webhook the ids of its last ``keep`` deliveries."""

    def __init__(self, redis: Redis, prefix: str = "podium", keep: int = 100) -> None:
        self.redis = redis
        self._prefix = prefix
        self.keep = keep

    def _key(self, delivery_id: str) -> str:
        return f"{self._prefix}:delivery:{delivery_id}"

    def _list(self, webhook_id: str) -> str:
        return f"{self._prefix}:webhook-deliveries:{webhook_id}"

    def add(self, delivery: Delivery) -> bool:
        """Record a new delivery; False (and nothing changed) if that id exists already."""
        if not self.redis.set(self._key(delivery.id), delivery.model_dump_json(), nx=True,
                              ex=DELIVERY_TTL_S):
            return False
        pipe = self.redis.pipeline()
        pipe.lpush(self._list(delivery.webhook_id), delivery.id)
        pipe.ltrim(self._list(delivery.webhook_id), 0, self.keep - 1)
        pipe.expire(self._list(delivery.webhook_id), DELIVERY_TTL_S)
        pipe.execute()
        return True

    def get(self, delivery_id: str) -> Delivery | None:
        raw = self.redis.get(self._key(delivery_id))
        return None if raw is None else Delivery.model_validate_json(raw)

    def save(self, delivery: Delivery) -> None:
        self.redis.set(self._key(delivery.id), delivery.model_dump_json(), ex=DELIVERY_TTL_S)

    def recent(self, webhook_id: str) -> list[Delivery]:
        """The webhook's last deliveries, newest first."""
        ids: list[bytes] = self.redis.lrange(self._list(webhook_id), 0, self.keep - 1)  # type: ignore[assignment]
        found = [self.get(i.decode()) for i in ids]
        return [d for d in found if d is not None]

    def forget(self, webhook_id: str) -> None:
        ids: list[bytes] = self.redis.lrange(self._list(webhook_id), 0, -1)  # type: ignore[assignment]
        self.redis.delete(self._list(webhook_id), *(self._key(i.decode()) for i in ids))
