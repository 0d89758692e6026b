"""One delivery attempt: a POST to the checked address, short timeouts, no redirects followed,
at most ``MAX_RESPONSE_BYTES`` of the answer read."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from ingest.webhooks.destinations import Destination
from ingest.webhooks.models import Attempt

MAX_RESPONSE_BYTES = 16 * 1024
USER_AGENT = "Podium-Webhooks/1"


@dataclass(frozen=True)
class Timeouts:
    connect_s: float
    read_s: float


def post(dest: Destination, headers: dict[str, str], body: str, timeouts: Timeouts) -> Attempt:
    """POST ``body`` to ``dest``; the attempt with the status code, or the error if no answer
    came. A redirect is an answer like any other non-2xx: it is not followed."""
    at = datetime.now(UTC)
    started = time.monotonic()
    timeout = httpx.Timeout(timeouts.read_s, connect=timeouts.connect_s)
    extensions = {"sni_hostname": dest.host} if dest.scheme == "https" else {}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            request = client.build_request(
                "POST", dest.pinned_url(), content=body.encode(), extensions=extensions,
                headers={**headers, "host": dest.host_header, "user-agent": USER_AGENT})
            response = client.send(request, stream=True)
            try:
                read = 0
                for chunk in response.iter_raw():
                    read += len(chunk)
                    if read >= MAX_RESPONSE_BYTES:
                        break
            finally:
                response.close()
        return Attempt(at=at, status_code=response.status_code, duration_ms=_ms(started))
    except httpx.HTTPError as exc:
        return Attempt(at=at, error=_describe(exc), duration_ms=_ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe(exc: httpx.HTTPError) -> str:
    kinds: dict[type[Exception], str] = {httpx.ConnectTimeout: "connect timeout",
                                         httpx.ReadTimeout: "read timeout",
                                         httpx.ConnectError: "connection failed"}
    kind = kinds.get(type(exc), type(exc).__name__)
    detail = str(exc).strip()
    return f"{kind}: {detail}"[:300] if detail else kind
