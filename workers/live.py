"""Live stream jobs: the end of a reconnect window, the live transcoder, the recording."""

from __future__ import annotations

import logging

from ingest.errors import NotFound
from workers.events import live_lifecycle

log = logging.getLogger(__name__)


def end_if_window_passed(stream_id: str) -> str:
    """Idempotent: a stream that came back (or already ended) is left be."""
    try:
        stream = live_lifecycle().expire_if_due(stream_id)
    except NotFound:
        return "gone"
    log.info("live stream %s after its reconnect window: %s", stream_id, stream.status.value)
    return stream.status.value
