"""Deliveries are signed as the Standard Webhooks spec says: checked with its reference
package, the way a receiver would."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook as Receiver
from standardwebhooks import WebhookVerificationError

from ingest.events import Event, EventType
from ingest.webhooks.models import Webhook, new_secret
from ingest.webhooks.signing import signed_headers
from ingest.webhooks.sink import delivery_body


def test_secret_is_whsec_and_base64_of_32_random_bytes() -> None:
    secrets = {new_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


def test_signature_verifies_with_the_reference_receiver() -> None:
    hook = Webhook(url="https://hooks.example/podium")
    event = Event(EventType.ASSET_READY, {"id": "as-0123456789abcdef", "title": "Café ☕"})
    body = delivery_body(event)
    headers = signed_headers(hook.secret, event.id, datetime.now(UTC), body)
    assert headers["webhook-id"] == event.id
    assert headers["content-type"] == "application/json"
    assert headers["webhook-signature"].startswith("v1,")
    payload = Receiver(hook.secret).verify(body.encode(), headers)
    assert payload == {"type": "asset.ready", "timestamp": event.timestamp.isoformat(),
                       "data": {"id": "as-0123456789abcdef", "title": "Café ☕"}}


def test_signature_is_hmac_sha256_of_id_timestamp_body() -> None:
    secret = new_secret()
    at = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    headers = signed_headers(secret, "msg_abc", at, '{"a":1}')
    assert headers["webhook-timestamp"] == str(int(at.timestamp()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"msg_abc.{int(at.timestamp())}.{{\"a\":1}}".encode(), hashlib.sha256)
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac.digest()).decode()


@pytest.mark.parametrize("tamper", ["body", "id", "secret", "stale"])
def test_tampered_deliveries_do_not_verify(tamper: str) -> None:
    secret, body = new_secret(), '{"type":"asset.ready"}'
    at = datetime.now(UTC) - (timedelta(minutes=10) if tamper == "stale" else timedelta())
    headers = signed_headers(secret, "msg_1", at, body)
    if tamper == "body":
        body = body.replace("ready", "errored")
    if tamper == "id":
        headers["webhook-id"] = "msg_2"
    if tamper == "secret":
        secret = new_secret()
    with pytest.raises(WebhookVerificationError):
        Receiver(secret).verify(body, headers)
