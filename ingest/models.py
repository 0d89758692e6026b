"""The asset record: what `assets/{id}/asset.json` holds and the API shows."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class AssetStatus(StrEnum):
    WAITING = "waiting"
    PREPARING = "preparing"
    READY = "ready"
    ERRORED = "errored"


class Stage(StrEnum):
    QUEUED = "queued"
    PROBE = "probe"
    TRANSCODE = "transcode"
    CAPTIONS = "captions"
    PUBLISH = "publish"
    DONE = "done"


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class CaptionMode(StrEnum):
    AUTO = "auto"
    NONE = "none"


class Progress(BaseModel):
    stage: Stage = Stage.QUEUED
    percent: float = Field(default=0.0, ge=0, le=100)


class Rendition(BaseModel):
    name: str
    width: int
    height: int
    bandwidth: int
    codecs: str


class CaptionTrack(BaseModel):
    language: str
    source: str  # "asr" | "upload"
    status: str  # "preparing" | "ready" | "errored"


class ErrorInfo(BaseModel):
    code: str
    message: str


class SourceInfo(BaseModel):
    """What the probe found: kept so later jobs need not probe again."""

    demuxer: str
    format_name: str
    duration_s: float
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    has_audio: bool = False
    size_bytes: int = 0


class Asset(BaseModel):
    id: str
    status: AssetStatus = AssetStatus.WAITING
    title: str = ""
    speaker: str | None = None
    language: str = "en"
    visibility: Visibility = Visibility.PUBLIC
    caption_mode: CaptionMode = CaptionMode.AUTO
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    duration_s: float | None = None
    progress: Progress = Field(default_factory=Progress)
    renditions: list[Rendition] = Field(default_factory=list)
    captions: list[CaptionTrack] = Field(default_factory=list)
    error: ErrorInfo | None = None
    source: SourceInfo | None = None
    source_filename: str | None = None
    attempts: int = 0


def new_asset_id() -> str:
    """Random, URL-safe, sortable-enough id; dashes only (RQ job ids derive from it)."""
    return "as-" + secrets.token_hex(8)
