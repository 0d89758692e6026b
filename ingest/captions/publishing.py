"""Caption tracks into the stream: segmented WebVTT renditions and the multivariant playlist.

Every change of a track (speech recognition done, a file uploaded, a review edit, a deletion)
goes through ``CaptionPublisher``, which holds the asset's lock (through the lifecycle, which
checks every status change and emits `captions.ready` / `asset.ready` once saved) while it
reloads the record,
stores the track, uploads its subtitle rendition, saves the record and regenerates the
subtitle lines of `master.m3u8` from the tracks the record lists. Publishing writes the playlist
under the same lock, so whichever of the two runs last, the playlist lists every ready track.

A track listed `ready` always has its rendition in storage: the rendition is uploaded before the
record says so. No ffmpeg here: the API calls this module too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ingest.assets.models import Asset, CaptionReview, CaptionStatus, CaptionTrack
from ingest.assets.store import AssetStore
from ingest.captions import store as caption_store
from ingest.captions.files import Cue
from ingest.errors import NotFound
from ingest.hls.playlists import M3U8_TYPE, SubtitleTrack, media_playlist_uri, multivariant
from ingest.hls.webvtt_segments import segment_webvtt
from ingest.languages import InvalidLanguage, canonical_language, primary_subtag
from ingest.lifecycle import assets as lifecycle
from ingest.lifecycle.assets import AssetLifecycle
from ingest.storage import keys
from ingest.storage.s3 import Storage

log = logging.getLogger(__name__)

VTT_TYPE = "text/vtt"
FALLBACK_START_PTS = 126_000
"""ffmpeg's MPEG-TS muxer starts at 1.4 s; only assets published before the first video PTS was
measured lack it (the B-frame delay, a few frames, is then missing)."""

LANGUAGE_NAMES = {
    "ar": "العربية", "cs": "Čeština", "da": "Dansk", "de": "Deutsch", "el": "Ελληνικά",
    "en": "English", "es": "Español", "fi": "Suomi", "fr": "Français", "he": "עברית",
    "hi": "हिन्दी", "hu": "Magyar", "it": "Italiano", "ja": "日本語", "ko": "한국어",
    "nl": "Nederlands", "no": "Norsk", "pl": "Polski", "pt": "Português", "ro": "Română",
    "ru": "Русский", "sv": "Svenska", "tr": "Türkçe", "uk": "Українська", "zh": "中文",
}
"""NAME of a subtitle rendition in players' menus: the language's own name, else the tag."""

TrackChange = Callable[[caption_store.StoredTrack | None], caption_store.StoredTrack | None]
"""Gets the stored track (None if there is none) and returns the new one, or None to keep it."""


def track_name(language: str) -> str:
    primary = primary_subtag(language)
    name = LANGUAGE_NAMES.get(primary, language)
    return name if language == primary or name == language else f"{name} ({language})"


def subtitle_tracks(asset: Asset, published: Callable[[str], bool]) -> list[SubtitleTrack]:
    """The EXT-X-MEDIA entries of an asset: ready tracks, and tracks being regenerated whose
    previous rendition is still ``published``. The track in the asset's language is DEFAULT."""
    listed = [t.language for t in asset.captions if t.status == CaptionStatus.READY
              or (t.status == CaptionStatus.PREPARING and published(t.language))]
    spoken = _default_language(asset.language, listed)
    return [SubtitleTrack(uri=media_playlist_uri(keys.subtitle_rendition(lang)), language=lang,
                          name=track_name(lang), default=lang == spoken) for lang in listed]


def _default_language(spoken: str, listed: list[str]) -> str | None:
    try:
        spoken = canonical_language(spoken)
    except InvalidLanguage:
        return None
    if spoken in listed:
        return spoken
    primary = primary_subtag(spoken)
    return next((lang for lang in listed if primary_subtag(lang) == primary), None)


def upload_rendition(storage: Storage, asset_id: str, language: str, cues: list[Cue],
                     duration_s: float, segment_s: float, start_pts: int,
                     version: int = 0) -> None:
    """Segments first, then their playlist: a player never finds a playlist naming a
    segment that is not there yet."""
    rendition = segment_webvtt(cues, duration_s, segment_s, start_pts)
    folder = keys.subtitle_rendition(language)
    for name, text in rendition.segments:
        storage.put_bytes(keys.hls_object(asset_id, f"{folder}/{name}", version), text.encode(),
                          VTT_TYPE)
    storage.put_bytes(keys.media_playlist(asset_id, folder, version),
                      rendition.playlist.encode(), M3U8_TYPE)


def rendition_published(storage: Storage, asset_id: str, language: str,
                        version: int = 0) -> bool:
    return storage.exists(keys.media_playlist(asset_id, keys.subtitle_rendition(language),
                                              version))


def carry_tracks(storage: Storage, asset: Asset, segment_s: float) -> None:
    """Publish into the asset's current version every ready track it has no rendition of yet
    (a replaced video keeps its uploaded and approved captions; tracks speech recognition is
    redoing publish themselves when done)."""
    for track in asset.captions:
        if track.status != CaptionStatus.READY or rendition_published(
                storage, asset.id, track.language, asset.version):
            continue
        stored = _load_or_none(storage, asset.id, track.language)
        if stored is not None:
            upload_rendition(storage, asset.id, track.language, stored.cues, _duration(asset),
                             segment_s, _start_pts(asset), asset.version)


@dataclass(frozen=True)
class CaptionPublisher:
    """Changes caption tracks of assets, keeping record, renditions and playlist in step."""

    assets: AssetLifecycle
    segment_s: float

    @property
    def store(self) -> AssetStore:
        return self.assets.store

    @property
    def storage(self) -> Storage:
        return self.store.storage

    def replace(self, asset_id: str, language: str, change: TrackChange) -> CaptionTrack:
        """Store the track ``change`` returns, publish its rendition and list it as ready."""
        entry: list[CaptionTrack] = []

        def apply(asset: Asset) -> None:
            entry.append(self._apply(asset, language, change))
            lifecycle.settle_readiness(asset)

        self.assets.update(asset_id, apply, then=self._write_master)
        return entry[0]

    def _apply(self, asset: Asset, language: str, change: TrackChange) -> CaptionTrack:
        current = asset.caption(language)
        stored = None
        if current is not None and current.status != CaptionStatus.ERRORED:
            stored = _load_or_none(self.storage, asset.id, language)
        track = change(stored)
        if track is None:  # keep what is there (a person's track outlives a machine rerun)
            if current is None or stored is None:
                raise ValueError("a track change may only keep an existing track")
            if not rendition_published(self.storage, asset.id, language, asset.version):
                # kept through a replacement of the video: into the new version's tree too
                upload_rendition(self.storage, asset.id, language, stored.cues,
                                 _duration(asset), self.segment_s, _start_pts(asset),
                                 asset.version)
            return lifecycle.track_kept(asset, language)
        caption_store.save_track(self.storage, asset.id, track)
        upload_rendition(self.storage, asset.id, language, track.cues, _duration(asset),
                         self.segment_s, _start_pts(asset), asset.version)
        if stored is not None and stored.timings() != track.timings():
            self._flag_translations(asset, language)
        return lifecycle.track_ready(asset, language, track.source, track.review,
                                     track.translation_of)

    def _flag_translations(self, asset: Asset, source_language: str) -> None:
        """The source's timings changed: each translation of it awaits a person's review
        (its cues keep the times they were translated with until someone edits them)."""
        for entry in asset.captions:
            if entry.translation_of != source_language or entry.status != CaptionStatus.READY:
                continue
            stored = _load_or_none(self.storage, asset.id, entry.language)
            if stored is not None:
                caption_store.save_track(self.storage, asset.id,
                                         stored.revised(CaptionReview.NEEDS_REVIEW))
            lifecycle.translation_needs_review(asset, entry.language)
            log.info("asset %s: %s translation of %s flagged for review", asset.id,
                     entry.language, source_language)

    def set_preparing(self, asset_id: str, language: str) -> CaptionTrack:
        """Speech recognition was queued for ``language``; a previous rendition stays listed."""
        def change(asset: Asset) -> None:
            lifecycle.track_preparing(asset, language)

        track = self.assets.update(asset_id, change).caption(language)
        assert track is not None
        return track

    def fail(self, asset_id: str, language: str, code: str, message: str) -> None:
        """Speech recognition failed: the track is `errored`, or, if an earlier rendition is
        still published, stays `ready` with the error attached."""
        def change(asset: Asset) -> None:
            published = rendition_published(self.storage, asset_id, language, asset.version)
            lifecycle.track_failed(asset, language, code, message, still_published=published)
            lifecycle.settle_readiness(asset)

        self.assets.update(asset_id, change, then=self._write_master)

    def remove(self, asset_id: str, language: str) -> None:
        """Delete a track, its rendition and its playlist entry."""
        def change(asset: Asset) -> None:
            if asset.caption(language) is None:
                raise caption_store.CaptionNotFound.of(asset_id, language)
            asset.captions = [t for t in asset.captions if t.language != language]
            lifecycle.settle_readiness(asset)

        def unpublish(asset: Asset) -> None:
            self._write_master(asset)  # first unlist it, then delete what it pointed at
            caption_store.delete_track(self.storage, asset_id, language)
            self.storage.delete_prefix(
                keys.hls_object(asset_id, keys.subtitle_rendition(language), asset.version)
                + "/")

        self.assets.update(asset_id, change, then=unpublish)

    def republish(self, asset_id: str) -> None:
        """Regenerate the playlist's subtitle lines from the record (repairs, tests)."""
        with self.store.locked(asset_id):
            self._write_master(self.store.get(asset_id))
        self.store.touch(asset_id)

    def _write_master(self, asset: Asset) -> None:
        """Rewrite a published playlist from the record: its renditions, as publishing measured
        them, and the subtitle tracks it lists now. Before publishing there is no playlist yet,
        and publishing will list the tracks itself."""
        key = keys.master_playlist(asset.id, asset.version)
        try:
            text = self.storage.get_bytes(key).decode()
        except NotFound:
            return
        if not asset.renditions:  # published but not yet recorded: publishing lists the tracks
            return
        subtitles = subtitle_tracks(
            asset, lambda lang: rendition_published(self.storage, asset.id, lang, asset.version))
        new = multivariant(asset.renditions, subtitles).dumps()
        if new != text:
            self.storage.put_bytes(key, new.encode(), M3U8_TYPE)


def _load_or_none(storage: Storage, asset_id: str,
                  language: str) -> caption_store.StoredTrack | None:
    try:
        return caption_store.load_track(storage, asset_id, language)
    except caption_store.CaptionNotFound:
        return None


def _duration(asset: Asset) -> float:
    duration = asset.duration_s or (asset.source.duration_s if asset.source else None)
    if not duration:
        raise ValueError(f"asset {asset.id} has no duration yet")
    return duration


def _start_pts(asset: Asset) -> int:
    if asset.hls_start_pts is None:
        log.warning("asset %s has no measured start PTS; using %d", asset.id, FALLBACK_START_PTS)
        return FALLBACK_START_PTS
    return asset.hls_start_pts
