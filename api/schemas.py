"""Request and response bodies of the public API (names follow shared/contract.md)."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, Field, field_validator

from ingest.assets.models import (
    Asset,
    CaptionMode,
    CaptionTrack,
    ErrorInfo,
    Progress,
    Visibility,
)
from ingest.assets.public import public_asset
from ingest.captions.asr import Transcript
from ingest.captions.checks import IssueKind
from ingest.captions.files import Cue
from ingest.captions.store import StoredTrack
from ingest.channels.models import MAX_WINDOW_S, MIN_WINDOW_S, ChannelMode, ChannelState
from ingest.errors import InvalidInput
from ingest.events import EventType
from ingest.languages import AUTO, canonical_language, is_language_tag
from ingest.live.models import EndReason, LiveStatus, LiveStream
from ingest.webhooks.models import Attempt, Delivery, DeliveryState, Webhook

MAX_TEXT = 200


class Playback(BaseModel):
    hls: str


class RenditionPublic(BaseModel):
    """A rendition as the contract shows it: the asset's `Rendition` without its encoder
    settings (ingest.assets.public picks these fields)."""

    name: str
    width: int
    height: int
    bandwidth: int
    codecs: str


class AssetPublic(BaseModel):
    id: str
    status: str
    title: str
    speaker: str | None
    language: str
    visibility: str
    created_at: datetime
    duration_s: float | None
    progress: Progress
    renditions: list[RenditionPublic]
    captions: list[CaptionTrack]
    playable: bool = Field(description=(
        "Playback may start (`playback.hls` is set): the asset is ready, or still preparing "
        "with the first segments of every rendition published; its media playlists then grow "
        "(EXT-X-PLAYLIST-TYPE:EVENT) and become VOD with EXT-X-ENDLIST when it is ready."))
    playback: Playback | None
    error: ErrorInfo | None
    poster: str | None = None
    """URL of the poster frame (JPEG), once transcoding has made one."""
    upload_id: str | None = None
    """The upload slot the source came through, if any."""
    version: int = 0
    """The version being prepared or ready; each replacement of the video is the next."""
    playing_version: int | None = None
    """The version viewers get (the previous one while a replacement is prepared)."""

    @classmethod
    def of(cls, asset: Asset, public_url: str) -> AssetPublic:
        """The contract's Asset JSON (built by ingest.assets.public, as `asset.*` events are)."""
        return cls.model_validate(public_asset(asset, public_url))


class AssetList(BaseModel):
    items: list[AssetPublic]
    next_cursor: str | None


class PlaybackToken(BaseModel):
    token: str
    expires_at: datetime


class InvalidField(InvalidInput):
    code = "invalid_field"


class AssetCreate(BaseModel):
    """The text fields of `POST /v1/assets`, validated after the file has streamed."""

    title: str
    speaker: str | None
    language: str
    captions: CaptionMode
    visibility: Visibility

    @classmethod
    def from_form(cls, fields: dict[str, str], filename: str | None) -> AssetCreate:
        title = _text(fields, "title") or _title_from(filename)
        language = (fields.get("language") or "en").strip()
        if language.lower() == AUTO:
            language = AUTO
        elif not is_language_tag(language):
            raise InvalidField(f"'language' must be a BCP-47 tag like 'en' or 'pt-BR', or "
                               f"'auto', not {language[:20]!r}.", code="invalid_language")
        return cls(
            title=title, speaker=_text(fields, "speaker"), language=language,
            captions=_choice(fields, "captions", CaptionMode, CaptionMode.AUTO),
            visibility=_choice(fields, "visibility", Visibility, Visibility.PUBLIC),
        )


def _text(fields: dict[str, str], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    value = " ".join(value.split())  # no control characters or line breaks in titles
    if len(value) > MAX_TEXT:
        raise InvalidField(f"'{name}' is longer than {MAX_TEXT} characters.")
    return value or None


E = TypeVar("E", CaptionMode, Visibility)


def _choice(fields: dict[str, str], name: str, enum: type[E], default: E) -> E:
    raw = fields.get(name)
    if raw is None or raw == "":
        return default
    try:
        return enum(raw)
    except ValueError:
        allowed = " | ".join(e.value for e in enum)
        raise InvalidField(f"'{name}' must be one of {allowed}.", code=f"invalid_{name}") from None


def _title_from(filename: str | None) -> str:
    if not filename:
        return "Untitled"
    stem = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0]
    return " ".join(stem.split())[:MAX_TEXT] or "Untitled"


# --- captions ------------------------------------------------------------------------------

MAX_EDIT_CUES = 20_000
"""A bound on the JSON body of a review edit; the `max_caption_cues` setting is checked after."""


class CaptionEdit(BaseModel):
    """`PATCH /v1/assets/{id}/captions/{lang}`: the track's new cues, text and times
    (checked by the domain's rules for edited cues)."""

    cues: list[Cue] = Field(max_length=MAX_EDIT_CUES)


class CueIssuePublic(BaseModel):
    index: int
    """Position of the cue in the list sent (0-based)."""
    kind: IssueKind
    message: str


class CueCheck(BaseModel):
    """What the cue check found (ingest.captions.checks); empty when every cue reads well."""

    issues: list[CueIssuePublic]


class CaptionTrackDetail(CaptionTrack):
    """A track with its cues, for review."""

    engine: str | None
    updated_at: datetime
    cues: list[Cue]

    @classmethod
    def of(cls, entry: CaptionTrack, track: StoredTrack) -> CaptionTrackDetail:
        return cls(**entry.model_dump(), engine=track.engine, updated_at=track.updated_at,
                   cues=track.cues)


class TranslateRequest(BaseModel):
    """`POST .../captions/{lang}/translate`: the language to translate the track into."""

    model_config = {"extra": "forbid"}

    to: str = Field(min_length=2, max_length=35, description="BCP-47 target language")


class TranscriptWord(BaseModel):
    word: str
    start: float
    end: float


class TranscriptPublic(BaseModel):
    language: str
    text: str
    words: list[TranscriptWord]

    @classmethod
    def of(cls, transcript: Transcript) -> TranscriptPublic:
        return cls.model_validate(transcript.to_dict())


class Glossary(BaseModel):
    """Terms speech recognition should know: speaker, company and product names."""

    terms: list[str] = Field(max_length=10_000)


# --- webhooks ------------------------------------------------------------------------------


class WebhookCreate(BaseModel):
    """`POST /v1/webhooks`: where to deliver, and which events (omitted or empty: all)."""

    url: str = Field(max_length=2048)
    events: list[EventType] | None = Field(default=None, max_length=len(EventType))

    def event_filter(self) -> list[EventType] | None:
        return sorted(set(self.events), key=list(EventType).index) if self.events else None


class WebhookPublic(BaseModel):
    id: str
    url: str
    events: list[EventType] | None
    """null: every event type."""
    secret: str | None
    """`whsec_` + base64 of the signing key; shown when created and when read one by one."""
    created_at: datetime

    @classmethod
    def of(cls, webhook: Webhook, with_secret: bool) -> WebhookPublic:
        return cls(id=webhook.id, url=webhook.url, events=webhook.events,
                   secret=webhook.secret if with_secret else None, created_at=webhook.created_at)


class WebhookList(BaseModel):
    items: list[WebhookPublic]


class DeliveryPublic(BaseModel):
    id: str
    event_id: str
    """The `webhook-id` header of every attempt."""
    type: EventType
    state: DeliveryState
    created_at: datetime
    attempts: list[Attempt]

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryPublic:
        return cls(id=delivery.id, event_id=delivery.event_id, type=delivery.event_type,
                   state=delivery.state, created_at=delivery.created_at,
                   attempts=delivery.attempts)


class DeliveryList(BaseModel):
    items: list[DeliveryPublic]
    """Newest first; the log keeps the last `webhook_log_size` deliveries of the webhook."""


# --- channels ---------------------------------------------------------------------------------
class ChannelCreate(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_TEXT)
    mode: ChannelMode = ChannelMode.LINEAR
    window_s: int = Field(default=60, ge=MIN_WINDOW_S, le=MAX_WINDOW_S)
    visibility: Visibility = Visibility.PUBLIC
    languages: list[str] = Field(default_factory=lambda: ["en"], max_length=8)
    """Subtitle tracks of the stream (items without one get empty cues)."""
    slate_asset_id: str | None = None
    """A ready asset to show in gaps; unset: the generated "We'll be right back" card."""

    @field_validator("languages")
    @classmethod
    def _bcp47(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not is_language_tag(tag):
                raise ValueError(f"not a BCP-47 language tag: {tag!r}")
        return list(dict.fromkeys(value))


class ChannelItemCreate(BaseModel):
    asset_id: str = Field(max_length=64)
    position: int | None = Field(default=None, ge=0)
    starts_at: datetime | None = None
    """Start at this wall-clock time (linear channels); the item before is cut at a boundary."""


class ChannelItemMove(BaseModel):
    position: int = Field(ge=0)


class ChannelSlate(BaseModel):
    asset_id: str = Field(max_length=64)


class ChannelItemPublic(BaseModel):
    id: str | None
    """null for the slate."""
    asset_id: str
    title: str
    duration_s: float
    starts_at: datetime | None = None


class ChannelCutCreate(BaseModel):
    live_stream_id: str = Field(max_length=64)
    starts_at: datetime | None = None
    """Cut at this wall-clock time (within 24 hours) instead of at the next boundary."""


class ChannelCutPublic(BaseModel):
    """A cut to a live stream: on air or coming (`scheduled`: set for `starts_at`)."""

    live_stream_id: str
    title: str
    starts_at: datetime
    ends_at: datetime | None
    """When the queue comes back, once the producer cut back."""
    scheduled: bool


class ChannelPlayback(BaseModel):
    hls: str
    watch: str


class ChannelPublic(BaseModel):
    id: str
    name: str
    mode: ChannelMode
    state: ChannelState
    window_s: int
    visibility: Visibility
    languages: list[str]
    created_at: datetime
    slate_asset_id: str | None
    items: list[ChannelItemPublic]
    now: ChannelItemPublic | None
    next: ChannelItemPublic | None
    playback: ChannelPlayback
    cut: ChannelCutPublic | None = None
    """The cut to a live stream on air or coming (`now` is null while it is on air)."""


class ChannelList(BaseModel):
    items: list[ChannelPublic]


class ScheduleEntry(BaseModel):
    item_id: str | None
    """null for a slate gap."""
    asset_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    slate: bool


# --- upload slots ------------------------------------------------------------------------------

MIN_SLOT_TTL_S = 1
MAX_SLOT_TTL_S = 90 * 24 * 3600
DEFAULT_SLOT_TTL_S = 7 * 24 * 3600


class UploadCreate(BaseModel):
    """`POST /v1/uploads`: who is invited to send what, and until when."""

    model_config = {"extra": "forbid"}

    title: str = Field(min_length=1, max_length=MAX_TEXT)
    speaker: str | None = Field(default=None, max_length=MAX_TEXT)
    language: str = Field(default="en", max_length=35,
                          description="BCP-47, or `auto` to detect the spoken language")
    max_duration_s: float | None = Field(default=None, gt=0)
    expires_in_s: int = Field(default=DEFAULT_SLOT_TTL_S, ge=MIN_SLOT_TTL_S, le=MAX_SLOT_TTL_S)

    def checked(self, max_duration_s: float) -> UploadCreate:
        """Cleaned text; the language a BCP-47 tag; the duration within the service's limit."""
        language = AUTO if self.language.strip().lower() == AUTO else self.language
        if language != AUTO and not is_language_tag(language):
            raise InvalidField(f"'language' must be a BCP-47 tag like 'en' or 'pt-BR', or "
                               f"'auto', not {self.language[:20]!r}.", code="invalid_language")
        if self.max_duration_s is not None and self.max_duration_s > max_duration_s:
            raise InvalidField(f"'max_duration_s' may be at most {max_duration_s:g} s "
                               f"(the service's limit).", code="invalid_max_duration")
        title = " ".join(self.title.split())
        if not title:
            raise InvalidField("'title' is empty.")
        speaker = " ".join(self.speaker.split()) if self.speaker else None
        return self.model_copy(update={"title": title, "speaker": speaker or None,
                                       "language": language})


class UploadPublic(BaseModel):
    id: str
    status: str
    title: str
    speaker: str | None
    language: str
    max_duration_s: float | None
    created_at: datetime
    expires_at: datetime
    locked: bool
    asset_id: str | None
    error: ErrorInfo | None
    url: str
    tus_endpoint: str
    put_url: str


class UploadList(BaseModel):
    items: list[UploadPublic]
    next_cursor: str | None


class LiveStreamCreate(BaseModel):
    title: str = Field(min_length=1, max_length=MAX_TEXT)
    speaker: str | None = Field(default=None, max_length=MAX_TEXT)
    reconnect_window_s: int | None = Field(default=None, ge=0, le=1800)
    """How long a dropped stream waits for its speaker (unset: the deployment's setting)."""
    max_duration_s: float | None = Field(default=None, gt=0)
    """Longest continuous session, at most the deployment's (unset: the deployment's
    `PODIUM_LIVE_MAX_DURATION_S`): the publisher is dropped and the stream ends after it."""
    language: str = Field(default="en", min_length=2, max_length=35,
                          description="BCP-47 tag of the spoken language (live captions)")

    @field_validator("language")
    @classmethod
    def _known_form(cls, tag: str) -> str:
        if not is_language_tag(tag):
            raise ValueError(f"not a BCP-47 language tag: {tag[:20]!r}")
        return canonical_language(tag)


class LiveIngest(BaseModel):
    rtmp: str
    """`rtmp://host:1935/live/{stream_key}`: server and key in one URL (OBS: Server + Key)."""
    srt: str | None
    """SRT publishing URL (the stream's own listener, encrypted with the key), null when the
    deployment offers no SRT ingest (`PODIUM_SRT_PORTS` unset)."""


class LivePlayback(BaseModel):
    hls: str
    watch: str
    """The viewer page: hls.js with the live captions and a subtitle menu."""


class LiveStreamPublic(BaseModel):
    id: str
    title: str
    speaker: str | None
    language: str
    status: LiveStatus
    stream_key: str
    ingest: LiveIngest
    playback: LivePlayback
    reconnect_window_s: int
    max_duration_s: float
    created_at: datetime
    ended_at: datetime | None
    end_reason: EndReason | None
    asset_id: str | None
    """The recording, once the stream has ended and its asset exists."""
    error: str | None
    """Why the last publisher was dropped (`unreadable_stream`, `no_video_stream`...)."""

    @classmethod
    def of(cls, stream: LiveStream, rtmp_base: str, public_url: str,
           srt: str | None = None) -> LiveStreamPublic:
        return cls(
            id=stream.id, title=stream.title, speaker=stream.speaker,
            language=stream.language, status=stream.status,
            stream_key=stream.stream_key,
            ingest=LiveIngest(rtmp=f"{rtmp_base}/{stream.stream_key}", srt=srt),
            playback=LivePlayback(
                hls=f"{public_url.rstrip('/')}/live-streams/{stream.id}.m3u8",
                watch=f"{public_url.rstrip('/')}/watch/live-streams/{stream.id}"),
            reconnect_window_s=stream.reconnect_window_s,
            max_duration_s=stream.max_duration_s, created_at=stream.created_at,
            ended_at=stream.ended_at, end_reason=stream.end_reason, asset_id=stream.asset_id,
            error=stream.error)


class LiveStreamList(BaseModel):
    items: list[LiveStreamPublic]
