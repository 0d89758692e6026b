"""FastAPI dependencies as Annotated aliases: settings, stores, and the producer check."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from redis import Redis

from api import studio_revocations, studio_session
from config import Settings, get_settings
from ingest.assets.store import AssetStore
from ingest.channels.store import ChannelStore
from ingest.errors import Forbidden, Unauthorized
from ingest.lifecycle.uploads import SlotLifecycle
from ingest.storage.s3 import Storage
from ingest.uploads.transfers import Transfers
from ingest.webhooks.store import DeliveryLog, WebhookStore
from runtime import handles
from workers.events import slot_lifecycle


def _storage() -> Storage:
    return handles.storage()


def _redis() -> Redis:
    return handles.redis_connection()


def _store() -> AssetStore:
    return handles.asset_store()


def _transfers() -> Transfers:
    return handles.transfers()


SettingsDep = Annotated[Settings, Depends(get_settings)]
StorageDep = Annotated[Storage, Depends(_storage)]
RedisDep = Annotated[Redis, Depends(_redis)]
StoreDep = Annotated[AssetStore, Depends(_store)]
ChannelsDep = Annotated[ChannelStore, Depends(handles.channel_store)]
WebhooksDep = Annotated[WebhookStore, Depends(handles.webhook_store)]
DeliveriesDep = Annotated[DeliveryLog, Depends(handles.delivery_log)]
SlotsDep = Annotated[SlotLifecycle, Depends(slot_lifecycle)]
TransfersDep = Annotated[Transfers, Depends(_transfers)]


def check_bearer(settings: Settings, authorization: str) -> str:
    """The producer's API key from an `Authorization: Bearer <key>` value; 401/403."""
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <key>'.")
    key = key.strip()
    if not any(hmac.compare_digest(key.encode(), k.encode()) for k in settings.api_key_list):
        raise Forbidden("The API key is not valid.")
    return key


def producer_of(settings: Settings, request: Request) -> str:
    """The producer behind a request: its Bearer key, else its studio session cookie (with
    the CSRF checks of api.studio_session for anything but a read); 401 with neither."""
    authorization = request.headers.get("authorization")
    if authorization:
        return check_bearer(settings, authorization)
    cookie = request.cookies.get(studio_session.COOKIE)
    if cookie:
        if studio_revocations.is_revoked(handles.redis_connection(), cookie):
            raise Unauthorized("This studio session was logged out: log in again at /studio.")
        own = [studio_session.origin_of(settings.public_url),
               studio_session.origin_of(str(request.base_url))]
        return studio_session.producer_of_cookie(
            settings.studio_secret, cookie, settings.api_key_list, request.method,
            request.headers, own)
    raise Unauthorized("This endpoint needs a producer API key: "
                       "send 'Authorization: Bearer <key>'.")


def is_producer_request(request: Request) -> bool:
    """The request carries producer credentials (checked by producer_of, not here)."""
    return bool(request.headers.get("authorization")
                or request.cookies.get(studio_session.COOKIE))


def require_producer(
    request: Request, settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    """The producer's API key: `Authorization: Bearer <key>`, or a studio session; 401
    without, 403 if wrong. (``authorization`` is declared so OpenAPI documents the header.)"""
    return producer_of(settings, request)


ProducerDep = Annotated[str, Depends(require_producer)]


# FastAPI reads and parses a route's body before it resolves any dependency, so an anonymous
# client could make it hold a large JSON body, and would get 422 for bad JSON instead of 401.
# ProducerFirstRoute checks the key of every route that depends on require_producer before
# FastAPI's own handler reads anything. Every router declares it (route_class=...).


def needs_producer(dependant: Dependant) -> bool:
    """The route (or a dependency of it) depends on require_producer."""
    return any(dep.call is require_producer or needs_producer(dep)
               for dep in dependant.dependencies)


class ProducerFirstRoute(APIRoute):
    """An APIRoute that refuses a missing or wrong API key before the body is read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not needs_producer(self.dependant):
            return handler

        async def key_first(request: Request) -> Response:
            producer_of(get_settings(), request)
            return await handler(request)
        return key_first
