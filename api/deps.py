"""FastAPI dependencies as Annotated aliases: settings, stores, and the producer check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header
from redis import Redis

from config import Settings, get_settings
from ingest.assets import AssetStore
from ingest.errors import PodiumError
from ingest.storage import Storage
from workers import context


def _storage() -> Storage:
    return context.storage()


def _redis() -> Redis:
    return context.redis_connection()


def _store() -> AssetStore:
    return context.asset_store()


SettingsDep = Annotated[Settings, Depends(get_settings)]
StorageDep = Annotated[Storage, Depends(_storage)]
RedisDep = Annotated[Redis, Depends(_redis)]
StoreDep = Annotated[AssetStore, Depends(_store)]


class Unauthorized(PodiumError):
    code = "missing_api_key"
    status = 401


class Forbidden(PodiumError):
    code = "invalid_api_key"
    status = 403


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
