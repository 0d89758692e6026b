"""Queues of one test only: jobs the session's worker never takes."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from config import get_settings
from runtime import handles
from workers import pipeline


@contextmanager
def own_queue_prefix(tag: str) -> Iterator[str]:
    """Give the in-process settings a queue prefix of their own (``tag`` + random) for the
    block; afterwards empty its queues, delete its Redis keys and restore the old prefix."""
    settings = get_settings()
    old = settings.queue_prefix
    settings.queue_prefix = prefix = f"{old}{tag}{secrets.token_hex(2)}"
    try:
        yield prefix
    finally:
        conn = handles.redis_connection()
        for name in pipeline.queue_names():
            pipeline.queue(name, conn).empty()
        for key in conn.scan_iter(match=f"{prefix}*"):
            conn.delete(key)
        settings.queue_prefix = old
