"""Studio sessions ended by a logout before their expiry, kept in Redis until they would have
expired anyway: every API process refuses them (api.studio_session names them)."""

from __future__ import annotations

import time

from redis import Redis

from api import studio_session
from config import get_settings


def _key(cookie: str) -> str:
    return f"{get_settings().queue_prefix}:studio-revoked:{studio_session.session_id(cookie)}"


def revoke(conn: Redis, cookie: str) -> None:
    """End the session of ``cookie`` everywhere (nothing to keep for an expired one)."""
    expires = studio_session.expiry_of(cookie)
    ttl = int(expires - time.time()) + 1 if expires is not None else 0
    if ttl > 0:
        conn.set(_key(cookie), b"1", ex=ttl)


def is_revoked(conn: Redis, cookie: str) -> bool:
    return bool(conn.exists(_key(cookie)))


def live_key(secret: str, cookie: str, keys: list[str], conn: Redis) -> str | None:
    """The producer key of a valid, unexpired session that was not logged out, else None."""
    key = studio_session.key_of(secret, cookie, keys)
    if key is None or is_revoked(conn, cookie):
        return None
    return key
