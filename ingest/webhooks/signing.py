"""Standard Webhooks signatures (https://www.standardwebhooks.com/), by the reference package."""

from __future__ import annotations

from datetime import datetime

from standardwebhooks import Webhook as Signer


def signed_headers(secret: str, msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """The headers of one attempt: `webhook-id` (the event's, the same on every retry),
    `webhook-timestamp` (this attempt's, in seconds) and `webhook-signature`
    (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Signer(secret).sign(msg_id, at, body),
        "content-type": "application/json",
    }
