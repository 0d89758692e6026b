"""Record revisions read on the event loop: the one Redis round trip of a playlist request
that this process can answer from what it holds.

A playlist route keeps what it derived from a record (the asset's playback facts, a channel's
compiled timeline, rendered bodies) under the revision Redis held when it read the record;
writers set a new revision with every change (`ingest.records`), in one pipeline with the
record's copy. A request reads the revision with an async client (no thread hand-off) and
answers from memory when it is the same; anything else (another revision, none, Redis away)
takes the route's full path, which reads the record itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref

from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

from config import get_settings

log = logging.getLogger(__name__)

WARN_EVERY_S = 30.0
"""While Redis is away every playlist request fails to read its revision: one warning per this
many seconds says so (with how many were not logged), not one per request."""
TIMEOUT_S = 1.0
"""A Redis that does not answer within this sends the request down the full path, whose own
reads fall back to the bucket (records) or answer 503."""

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[str, AsyncRedis]] = (
    weakref.WeakKeyDictionary())


def _client() -> AsyncRedis:
    """This event loop's client (an asyncio connection pool belongs to one loop)."""
    loop = asyncio.get_running_loop()
    url = get_settings().redis_url
    held = _clients.get(loop)
    if held is None or held[0] != url:
        held = (url, AsyncRedis.from_url(url, socket_timeout=TIMEOUT_S,
                                         socket_connect_timeout=TIMEOUT_S))
        _clients[loop] = held
    return held[1]


async def read(key: str) -> int | None:
    """The revision at ``key``; None when there is none or Redis cannot say."""
    try:
        raw = await _client().get(key)
    except (RedisError, OSError) as exc:
        _warn_unreadable(key, exc)
        return None
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


_unlogged: dict[str, float] = {"since": -WARN_EVERY_S, "count": 0}


def _warn_unreadable(key: str, exc: BaseException) -> None:
    now = time.monotonic()
    if now - _unlogged["since"] < WARN_EVERY_S:
        _unlogged["count"] += 1
        return
    more = f" ({_unlogged['count']:.0f} more since the last warning)" if _unlogged["count"] else ""
    log.warning("revision %s unreadable, taking the full path: %s%s", key, exc, more)
    _unlogged.update(since=now, count=0)
