"""Pure builders of object-storage keys: every object of an asset lives under `assets/{id}/`."""

from __future__ import annotations

import re

_ID_RE = re.compile(r"^[a-z]{2}-[0-9a-f]{16}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def is_valid_id(asset_id: str) -> bool:
    return bool(_ID_RE.fullmatch(asset_id))


def is_safe_name(name: str) -> bool:
    """File names inside the HLS tree: no slashes, no dot-dot, nothing a path could escape with."""
    return bool(_NAME_RE.fullmatch(name)) and ".." not in name


def asset_prefix(asset_id: str) -> str:
    return f"assets/{asset_id}/"


def asset_record(asset_id: str) -> str:
    return f"assets/{asset_id}/asset.json"


def version_root(asset_id: str, version: int = 0) -> str:
    """Where one version of an asset's media lives: version 0 (the first upload) directly under
    `assets/{id}/`, a replacement under `assets/{id}/v{n}/`. Versions never share an object,
    so a new one is written while the old one still plays."""
    if version < 0:
        raise ValueError(f"invalid asset version: {version!r}")
    return f"assets/{asset_id}/" + (f"v{version}/" if version else "")


def poster(asset_id: str) -> str:
    """The poster frame (JPEG) that the transcode job takes from a packaged segment (of the
    latest version)."""
    return f"assets/{asset_id}/poster.jpg"


def source(asset_id: str, version: int = 0) -> str:
    return version_root(asset_id, version) + "source/original"


def hls_prefix(asset_id: str, version: int = 0) -> str:
    return version_root(asset_id, version) + "hls/"


def hls_object(asset_id: str, name: str, version: int = 0) -> str:
    """A file of the packaged HLS tree, e.g. `720p/seg-00001.ts` or `720p/index.m3u8`."""
    parts = name.split("/")
    if not parts or not all(is_safe_name(p) for p in parts):
        raise ValueError(f"unsafe HLS object name: {name!r}")
    return hls_prefix(asset_id, version) + name


def chunks_prefix(asset_id: str, version: int = 0) -> str:
    """The pieces of a chunked transcode (video chunks, the audio track) until the stitch."""
    return version_root(asset_id, version) + "chunks/"


def video_chunk(asset_id: str, index: int, version: int = 0) -> str:
    """One chunk of the video, every rendition in one MPEG-TS file, by its index."""
    if index < 0:
        raise ValueError(f"invalid chunk index: {index!r}")
    return chunks_prefix(asset_id, version) + f"video-{index:05d}.ts"


def audio_track(asset_id: str, version: int = 0) -> str:
    """The audio of a chunked transcode, encoded once (MPEG-TS)."""
    return chunks_prefix(asset_id, version) + "audio.ts"


def master_playlist(asset_id: str, version: int = 0) -> str:
    return hls_prefix(asset_id, version) + "master.m3u8"


def media_playlist(asset_id: str, rendition: str, version: int = 0) -> str:
    return hls_object(asset_id, f"{rendition}/index.m3u8", version)


def captions_prefix(asset_id: str) -> str:
    return f"assets/{asset_id}/captions/"


def caption_track_prefix(asset_id: str, language: str) -> str:
    """Everything stored for one track (a folder, so the track can go with delete_prefix)."""
    if not is_safe_name(language):
        raise ValueError(f"unsafe language tag: {language!r}")
    return f"assets/{asset_id}/captions/{language}/"


def caption_track(asset_id: str, language: str) -> str:
    """The canonical cues and review state of one track, e.g. `captions/en-US/track.json`."""
    return caption_track_prefix(asset_id, language) + "track.json"


def transcript(asset_id: str) -> str:
    """What speech recognition heard, with word times (BCP-47 tags never spell `transcript`)."""
    return f"assets/{asset_id}/captions/transcript.json"


def subtitle_rendition(language: str) -> str:
    """Directory of a track's segmented WebVTT under `hls/`, e.g. `subs-en`."""
    if not is_safe_name(language):
        raise ValueError(f"unsafe language tag: {language!r}")
    return f"subs-{language}"


def glossary() -> str:
    """Terms (names, products) that speech recognition should know; shared by every asset."""
    return "config/glossary.json"


WEBHOOKS_PREFIX = "webhooks/"


def webhook_prefix(webhook_id: str) -> str:
    """Everything stored for one webhook (its signing secret included): never served."""
    if not is_valid_id(webhook_id):
        raise ValueError(f"invalid webhook id: {webhook_id!r}")
    return f"{WEBHOOKS_PREFIX}{webhook_id}/"


def webhook_record(webhook_id: str) -> str:
    return webhook_prefix(webhook_id) + "webhook.json"


def channel_prefix(channel_id: str) -> str:
    return f"channels/{channel_id}/"


def channel_record(channel_id: str) -> str:
    """The channel document (queue, timeline, media of its items): the source of truth."""
    return f"channels/{channel_id}/channel.json"


def default_slate() -> str:
    """Which asset is the deployment's generated slate (`{"asset_id": ...}`)."""
    return "config/slate.json"


def upload_prefix(slot_id: str) -> str:
    """Everything stored for an upload slot (its record, chunks of unfinished transfers)."""
    return f"uploads/{slot_id}/"


def upload_slot(slot_id: str) -> str:
    return f"uploads/{slot_id}/slot.json"


def transfer_prefix(slot_id: str, transfer_id: str) -> str:
    return f"uploads/{slot_id}/transfers/{transfer_id}/"


def pending_segment(slot_id: str, transfer_id: str, start: int) -> str:
    """Bytes of a transfer from ``start`` that do not fill a multipart part yet."""
    return f"{transfer_prefix(slot_id, transfer_id)}pending-{start:015d}"


def channel_as_run(channel_id: str) -> str:
    """What a channel actually played and when."""
    return f"channels/{channel_id}/as-run.json"


def live_prefix(stream_id: str) -> str:
    """Everything stored for a live stream: its record, its live HLS."""
    return f"live/{stream_id}/"


def live_record(stream_id: str) -> str:
    return f"live/{stream_id}/stream.json"


def live_hls_object(stream_id: str, name: str) -> str:
    """A file of the stream's live HLS (`{rendition}/seg-NNNNNN.ts`, `{rendition}/index.m3u8`)."""
    if not all(is_safe_name(part) for part in name.split("/")):
        raise ValueError(f"unsafe name {name!r}")
    return f"live/{stream_id}/hls/{name}"


def live_state(stream_id: str) -> str:
    """The live HLS's segment list (renditions, sequence and discontinuity numbers)."""
    return f"live/{stream_id}/hls/state.json"
