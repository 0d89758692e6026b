"""Token values never reach the access log: uvicorn logs every path with its query string.

Playback tokens (`?token=`) and any other `*token*` query parameter (upload links) are
capabilities: whoever reads the log could replay them. So is the secret path segment of the
RTMP server's callbacks (`/internal/rtmp/{secret}/publish`): with it, anyone could start or end a
live stream.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "[redacted]"
_TOKEN_VALUE = re.compile(r"([?&][^=&#\s\"]*token[^=&#\s\"]*=)[^&#\s\"]*", re.IGNORECASE)
_HOOK_SECRET = re.compile(r"(/internal/rtmp/)[^/?#\s\"]+")


def redact(text: str) -> str:
    """``text`` with the value of every `*token*=` query parameter and the RTMP callbacks'
    secret replaced."""
    return _HOOK_SECRET.sub(rf"\1{REDACTED}", _TOKEN_VALUE.sub(rf"\1{REDACTED}", text))


class RedactTokens(logging.Filter):
    """Rewrites the message and its arguments before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Add the filter to uvicorn's access logger (once per process)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())
