"""FastAPI dependencies as Annotated aliases: settings, stores, and the producer check."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from redis import Redis

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


def require_producer(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> str:
    """The producer's API key from `Authorization: Bearer <key>`; 401 without, 403 if wrong."""
    if not authorization:
        raise Unauthorized("This endpoint needs a producer API key: "
                           "send 'Authorization: Bearer <key>'.")
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <key>'.")
    key = key.strip()
    if not any(hmac.compare_digest(key.encode(), k.encode()) for k in settings.api_key_list):
        raise Forbidden("The API key is not valid.")
    return key


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
            require_producer(get_settings(), request.headers.get("authorization"))
            return await handler(request)
        return key_first
