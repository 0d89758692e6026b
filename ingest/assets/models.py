"""The asset record: what `assets/{id}/asset.json` holds and the API shows."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, model_validator

from ingest.events import StoredEvent
from ingest.media.ladder import Rendition, h264_level, select_renditions
from ingest.media.probe import MediaInfo


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


class CaptionSource(StrEnum):
    ASR = "asr"
    UPLOAD = "upload"


class CaptionStatus(StrEnum):
    PREPARING = "preparing"
    READY = "ready"
    ERRORED = "errored"


class CaptionReview(StrEnum):
    """Who stands behind a track's text: the machine alone, or a person (edited, approved)."""

    MACHINE = "machine"
    EDITED = "edited"
    APPROVED = "approved"
    NEEDS_REVIEW = "needs_review"
    """A translation whose source track's timings changed since: a person should look again."""


class ErrorInfo(BaseModel):
    code: str
    message: str


class CaptionTrack(BaseModel):
    """One caption track as the asset lists it; the cues live in `captions/{language}.json`."""

    language: str
    source: CaptionSource
    status: CaptionStatus
    review: CaptionReview = CaptionReview.MACHINE
    error: ErrorInfo | None = None
    percent: float | None = None
    """Live progress of speech recognition while the track is `preparing` (else null)."""
    translation_of: str | None = None
    """The language of the track this one translates (its timings are that track's)."""

    @property
    def is_human(self) -> bool:
        """Uploaded, edited or approved by a person: speech recognition must not replace it."""
        return self.source == CaptionSource.UPLOAD or self.review != CaptionReview.MACHINE


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
    video_kbps: dict[str, int] | None = None
    """Per-title video kbit/s by rendition name, chosen once before the transcode
    (ingest.media.pertitle); None: the fixed ladder's rates."""
    captions: list[CaptionTrack] = Field(default_factory=list)
    playable: bool = False
    """Playback may start: set while `preparing` once every rendition has its first segments
    and the multivariant playlist is up (media playlists grow as EVENT until publishing)."""
    error: ErrorInfo | None = None
    source: MediaInfo | None = None
    hls_start_pts: int | None = None
    has_poster: bool = False
    """The transcode job stored a poster frame (storage key `assets/{id}/poster.jpg`)."""
    upload_id: str | None = None
    """The upload slot the source came through, if it came through one."""
    """90 kHz PTS of the first video frame of the packaged segments (WebVTT X-TIMESTAMP-MAP)."""
    source_filename: str | None = None
    max_duration_s: float | None = None
    """A tighter duration limit than the service's, from the upload slot it came through."""
    attempts: int = 0
    outbox: list[StoredEvent] = Field(default_factory=list)
    """Events of saved transitions not yet handed to the event sink (ingest.lifecycle)."""
    owner: str | None = None
    """Fingerprint of the producer key that uploaded it (ingest.assets.quotas.owner_of): whose
    limits on work in flight it counts against. Never the key itself."""
    version: int = 0
    """The version the pipeline works on: 0 is the first upload, each replacement of the video
    (through the upload slot) is the next one, stored apart (ingest.storage.keys.version_root)."""
    published_version: int | None = None
    """The last version that became ready: viewers keep getting it while a replacement is
    prepared (or after one failed)."""

    @model_validator(mode="before")
    @classmethod
    def _plan_legacy_renditions(cls, data: Any) -> Any:
        """Records written before a rendition kept its plan list only its name, size,
        bandwidth and codecs: the plan is chosen again from the source (the ladder is pure
        data, and unchanged since), the measured bandwidth is kept."""
        if not isinstance(data, dict) or not any(
                isinstance(r, dict) and "level" not in r for r in data.get("renditions") or ()):
            return data
        source = MediaInfo.model_validate(data["source"]) if data.get("source") else None
        return {**data, "renditions": [_legacy_rendition(r, source) if "level" not in r else r
                                       for r in data["renditions"]]}

    @model_validator(mode="after")
    def _published_if_ready(self) -> Asset:
        """Records written before versions existed: a ready asset published its version."""
        if self.status == AssetStatus.READY and self.published_version is None:
            self.published_version = self.version
        return self

    @property
    def playing_version(self) -> int | None:
        """The version viewers get: the current one once ready, else the last that was
        (while a replacement is prepared, or after one failed); with none ever ready, the
        current one while it is `playable` (encoding, its first segments published); else
        None."""
        if self.status == AssetStatus.READY:
            return self.version
        if self.published_version is not None:
            return self.published_version
        if self.status == AssetStatus.PREPARING and self.playable:
            return self.version
        return None

    def caption(self, language: str) -> CaptionTrack | None:
        """The caption track of ``language`` (a canonical BCP-47 tag), if the asset has one."""
        return next((t for t in self.captions if t.language == language), None)

    def set_caption(self, track: CaptionTrack) -> None:
        """Add or replace the track of ``track.language``, keeping tracks sorted by language."""
        others = [t for t in self.captions if t.language != track.language]
        self.captions = sorted([*others, track], key=lambda t: t.language)


def _legacy_rendition(entry: dict[str, Any], source: MediaInfo | None) -> Rendition:
    width, height = int(entry["width"]), int(entry["height"])
    fps = source.fps if source else None
    has_audio = source.has_audio if source else "mp4a" in str(entry.get("codecs", ""))
    plans = select_renditions(source.width, source.height, fps, has_audio) if (
        source and source.width and source.height) else []
    plan = next((p for p in plans if p.name == entry["name"]), None)
    if plan is None:  # not a rung of today's ladder: the nearest rung's rates at its own size
        nearest = select_renditions(width, height, fps, has_audio)[0]
        plan = nearest.model_copy(update={"name": entry["name"], "width": width,
                                          "height": height,
                                          "level": h264_level(width, height, nearest.fps)})
    return plan.model_copy(update={"bandwidth": int(entry["bandwidth"]),
                                   "codecs": str(entry.get("codecs") or plan.codecs)})


def new_asset_id() -> str:
    """Random, URL-safe, sortable-enough id; dashes only (RQ job ids derive from it)."""
    return "as-" + secrets.token_hex(8)
