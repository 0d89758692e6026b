"""The channel document: what `channels/{id}/channel.json` holds.

Besides the producer's queue (``items``) the document keeps an append-only ``timeline`` of
epochs, each saying "from boundary ``from_t`` on, play this queue from this cursor". What
plays at any instant follows from the timeline and the clock alone (``ingest.channels.schedule``),
so every API process gives the same answer and nothing lives only in Redis.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

from ingest.assets.models import Visibility
from ingest.media.ladder import Rendition

MIN_WINDOW_S = 30
MAX_WINDOW_S = 3600
SEGMENT_NAME = "seg-{index:05d}.ts"
"""Segment file names of every packaged rendition (ingest.media.commands.SEGMENT_PATTERN)."""


class ChannelMode(StrEnum):
    LINEAR = "linear"
    """Play the queue once, then the slate."""
    LOOP = "loop"
    """Repeat the queue."""


class ChannelState(StrEnum):
    IDLE = "idle"
    ON_AIR = "on_air"


_PLAN_UNKNOWN: dict[str, object] = {"fps": 0.0, "video_kbps": 0, "maxrate_kbps": 0,
                                     "bufsize_kbps": 0, "audio_kbps": None, "level": ""}
"""The encoding plan of a rendition that documents written before channels kept the whole
`Rendition` did not store (they kept name, size, bandwidth and codecs): channels never read it."""


class AssetMedia(BaseModel):
    """What a channel needs of a ready asset, read once when it is added."""

    asset_id: str
    title: str = ""
    durations: list[float]
    """EXTINF of each segment (every rendition is cut at the same instants)."""
    renditions: list[Rendition]
    """The asset's renditions as published (`ingest.media.ladder.Rendition`)."""
    has_audio: bool = True
    version: int = 0
    """The asset's version these segments are of: the channel keeps playing it when the
    video is replaced (ingest.storage.keys.version_root)."""

    @field_validator("renditions", mode="before")
    @classmethod
    def _complete_older_documents(cls, value: object) -> object:
        if not isinstance(value, list):
            return value
        return [{**_PLAN_UNKNOWN, **r} if isinstance(r, dict) and "fps" not in r else r
                for r in value]

    @property
    def duration_s(self) -> float:
        return round(sum(self.durations), 3)


class Item(BaseModel):
    """One entry of the queue: a ready asset, optionally pinned to a wall-clock start."""

    id: str
    asset_id: str
    starts_at: datetime | None = None


class LiveCut(BaseModel):
    """A cut to a live stream: its segments from ``first_seq`` on, placed by their stream
    time (``ingest.live.hls.LiveSegment.at``) from the epoch's start."""

    stream_id: str
    first_seq: int
    first_at: float
    """Stream time of segment ``first_seq``: it plays at the epoch's ``from_t``."""
    first_disc: int
    """Discontinuity number of segment ``first_seq`` in the live stream's own numbering."""


class ScheduledCut(BaseModel):
    """A cut to a live stream the producer set for a wall-clock time (a job makes it then)."""

    stream_id: str
    at: datetime
    title: str = ""


class LiveSource(BaseModel):
    """What a channel needs of a live stream it cuts to, read when the cut is made."""

    stream_id: str
    title: str = ""
    segment_s: float
    renditions: list[Rendition]


class Epoch(BaseModel):
    """From ``from_t`` (unix seconds, a segment boundary) on, ``queue`` plays from the cursor
    (``position`` in the queue, ``segment`` within that item). ``seq`` is the media sequence
    number of the first segment, ``disc`` the number of discontinuities before it; ``continues``
    says the first segment follows the previous one without a discontinuity.

    With ``live`` set the epoch plays that live stream instead, for as long as it lasts, and
    the cursor says where the queue resumes after it (``ingest.channels.live``)."""

    from_t: float
    seq: int = 0
    disc: int = 0
    on_air: bool = True
    queue: list[Item] = Field(default_factory=list)
    position: int = 0
    segment: int = 0
    continues: bool = False
    slate_asset_id: str | None = None
    live: LiveCut | None = None


class Channel(BaseModel):
    id: str
    name: str
    mode: ChannelMode = ChannelMode.LINEAR
    window_s: int = Field(default=60, ge=MIN_WINDOW_S, le=MAX_WINDOW_S)
    visibility: Visibility = Visibility.PUBLIC
    state: ChannelState = ChannelState.IDLE
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    revision: int = 0
    segment_s: float = 4.0
    """Nominal segment duration of every item (fixed at creation)."""
    target_duration: int = 4
    """EXT-X-TARGETDURATION, fixed for the life of the channel."""
    codec_family: str = "avc1"
    languages: list[str] = Field(default_factory=lambda: ["en"])
    """Subtitle tracks of the stream; items without one get empty cues."""
    slate_asset_id: str | None = None
    items: list[Item] = Field(default_factory=list)
    media: dict[str, AssetMedia] = Field(default_factory=dict)
    timeline: list[Epoch] = Field(default_factory=list)
    live_sources: dict[str, LiveSource] = Field(default_factory=dict)
    """Live streams the channel has cut to (by stream id)."""
    scheduled_cuts: list[ScheduledCut] = Field(default_factory=list)

    def item_media(self) -> list[AssetMedia]:
        """Media of the items (not of slates), which decide the stream's variants; the slate's
        when nothing was ever queued."""
        slates = {self.slate_asset_id} | {e.slate_asset_id for e in self.timeline}
        items = [m for aid, m in self.media.items() if aid not in slates]
        return items or list(self.media.values())

    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)


def new_channel_id() -> str:
    return "ch-" + secrets.token_hex(8)


def new_item_id() -> str:
    return "it-" + secrets.token_hex(8)


def segment_name(index: int) -> str:
    return SEGMENT_NAME.format(index=index)


class ItemState(StrEnum):
    """Where an item stands in the as-run log (ingest.lifecycle.channels)."""

    QUEUED = "queued"
    ON_AIR = "on_air"
    PLAYED = "played"


class AsRunEntry(BaseModel):
    item_id: str
    asset_id: str
    title: str = ""
    started_at: datetime
    ended_at: datetime | None = None


class AsRun(BaseModel):
    """What actually played and when (`channels/{id}/as-run.json`), written by the as-run job."""

    channel_id: str
    recorded_until: float | None = None
    """Item starts up to this instant are in ``entries``."""
    states: dict[str, ItemState] = Field(default_factory=dict)
    entries: list[AsRunEntry] = Field(default_factory=list)
