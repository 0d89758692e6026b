"""`Idempotency-Key` on creating requests: a retry answers with the resource the first made.

The key is scoped by route and API key and remembered in Redis for a day. While the first
request still runs, a retry gets 409 (it may try again shortly); a retry whose parameters differ
from the first's gets 422, so a reused key never silently returns an unrelated resource.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from redis import Redis

from ingest.errors import InvalidInput
from ingest.uploads.errors import IdempotencyConflict

DONE_TTL_S = 24 * 3600
PENDING_TTL_S = 3600
"""A claim whose request died with its process lapses after this, so the key becomes usable."""
MAX_KEY_CHARS = 255


@dataclass
class Claim:
    """A claimed key: ``existing`` is the first request's resource id when this is a retry."""

    redis: Redis
    key: str | None
    existing: str | None = None

    def done(self, resource_id: str, fingerprint: str = "") -> None:
        if self.key is not None:
            self.redis.set(self.key, json.dumps({"id": resource_id, "state": "done",
                                                 "fp": fingerprint}), ex=DONE_TTL_S)

    def release(self) -> None:
        """The request failed: a retry with the same key starts afresh."""
        if self.key is not None:
            self.redis.delete(self.key)


def claim(redis: Redis, prefix: str, scope: str, api_key: str, header: str | None,
          resource_id: str, fingerprint: str = "") -> Claim:
    """Claim ``header`` for a new ``resource_id``; a retry gets the first one's id back."""
    if header is None:
        return Claim(redis, None)
    if not 1 <= len(header) <= MAX_KEY_CHARS or not header.isprintable():
        raise InvalidInput(f"Idempotency-Key must be 1-{MAX_KEY_CHARS} printable characters.",
                           code="invalid_idempotency_key")
    digest = hashlib.sha256(f"{api_key}\0{header}".encode()).hexdigest()
    key = f"{prefix}:idempotency:{scope}:{digest}"
    value = json.dumps({"id": resource_id, "state": "pending", "fp": fingerprint})
    if redis.set(key, value, nx=True, ex=PENDING_TTL_S):
        return Claim(redis, key)
    raw = redis.get(key)
    if raw is None:  # lapsed between the two calls: claim it now
        redis.set(key, value, ex=PENDING_TTL_S)
        return Claim(redis, key)
    first = json.loads(raw)
    if first.get("fp", "") != fingerprint:
        raise InvalidInput("This Idempotency-Key was used for a request with other parameters.",
                           code="idempotency_key_reused")
    if first.get("state") != "done":
        raise IdempotencyConflict("A request with this Idempotency-Key is still running; "
                                  "retry shortly.")
    return Claim(redis, None, existing=str(first["id"]))
