"""A live stream (`live/{id}/stream.json`): a speaker's secret key and what happened to it.

    idle ──► active ◄──► disconnected
      │        │              │
      └────────┴──────────────┴──► ended

`ingest.lifecycle.live` is the only code that changes ``status``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field


class LiveStatus(StrEnum):
    IDLE = "idle"
    ACTIVE = "active"
    DISCONNECTED = "disconnected"
    ENDED = "ended"


class EndReason(StrEnum):
    DELETED = "deleted"
    """The producer revoked the key (DELETE)."""
    RECONNECT_WINDOW = "reconnect_window"
    """The speaker did not come back within the reconnect window."""
    MAX_DURATION = "max_duration"
    """A session ran longer than the maximum continuous duration."""


class LiveSession(BaseModel):
    """One connection of the speaker's encoder, from publish to publish_done."""

    publisher: str
    """Which connection of the RTMP server publishes (`addr#clientid`)."""
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    ended_at: datetime | None = None
    lost: bool = False
    """Ended because the RTMP server stopped reporting it (it died or restarted: no
    on_publish_done), not by a clean on_publish_done."""


def _now() -> datetime:
    return datetime.now(UTC)


class LiveStream(BaseModel):
    id: str
    title: str
    speaker: str | None = None
    language: str = "en"
    """BCP-47 tag of what the speaker speaks: the live captions' and the recording's."""
    stream_key: str
    status: LiveStatus = LiveStatus.IDLE
    reconnect_window_s: int
    max_duration_s: float
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
    sessions: list[LiveSession] = Field(default_factory=list)
    disconnected_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    asset_id: str | None = None
    """The recording, once the stream ended and its asset exists."""
    srt_port: int | None = None
    """Its own SRT listener's port, when SRT ingest is on."""
    dropped_publisher: str | None = None
    """A connection the transcoder could not read (garbage): the RTMP server drops it."""
    error: str | None = None
    """Why the last publisher was dropped (an error code), for the producer."""

    @property
    def current(self) -> LiveSession | None:
        """The session in progress (status `active`), if any."""
        if self.status != LiveStatus.ACTIVE or not self.sessions:
            return None
        last = self.sessions[-1]
        return last if last.ended_at is None else None

    def window_closes_at(self) -> datetime | None:
        if self.status != LiveStatus.DISCONNECTED or self.disconnected_at is None:
            return None
        return self.disconnected_at + timedelta(seconds=self.reconnect_window_s)

    def window_passed(self, now: datetime | None = None) -> bool:
        closes = self.window_closes_at()
        return closes is not None and (now or _now()) >= closes

    def over_duration(self, now: datetime | None = None) -> bool:
        session = self.current
        if session is None:
            return False
        return ((now or _now()) - session.started_at).total_seconds() > self.max_duration_s


def new_live_stream_id() -> str:
    return "ls-" + secrets.token_hex(8)


def new_stream_key() -> str:
    """The speaker's secret: URL- and RTMP-name-safe (letters, digits, `-`, `_`)."""
    return "sk-" + secrets.token_urlsafe(24)


def key_digest(stream_key: str) -> str:
    """What Redis indexes a key by (the key itself is kept in the bucket record only)."""
    return hashlib.sha256(stream_key.encode()).hexdigest()
