"""What may join a channel: the media snapshot of a ready asset, and the one compatibility check.

Items differ in rungs, audio and captions, and all of that plays (the closest rendition, silence,
empty cues). Only what a player cannot splice is refused: another segment duration (the target
duration is fixed for the channel's life) or another codec family.
"""

from __future__ import annotations

from collections.abc import Mapping

from ingest.assets.models import Asset, AssetStatus
from ingest.assets.store import AssetStore
from ingest.channels.models import AssetMedia, Channel, segment_name
from ingest.errors import Conflict
from ingest.hls.playlists import parse_media_segments
from ingest.storage import keys

NOMINAL_TOLERANCE_S = 0.5
"""How far an asset's usual segment length may be from the channel's."""


class AssetNotPlayable(Conflict):
    code = "item_not_ready"


class ItemIncompatible(Conflict):
    """The asset cannot be spliced into this channel's stream."""

    code = "item_incompatible"


def media_of(asset: Asset, playlists: Mapping[str, str], version: int = 0) -> AssetMedia:
    """The channel's view of a ready asset from its rendition playlists (name → text)."""
    if asset.status != AssetStatus.READY or not asset.renditions:
        raise AssetNotPlayable(f"Asset {asset.id} is {asset.status.value}; only ready assets "
                               "can be queued.")
    counts, durations = [], None
    for rendition in asset.renditions:
        segments = parse_media_segments(playlists[rendition.name])
        if [s.uri for s in segments] != [segment_name(i) for i in range(len(segments))] \
                or not segments:
            raise ItemIncompatible(f"Rendition {rendition.name} of asset {asset.id} is not "
                                   "packaged as Podium packages segments.",
                                   code="segments_unsupported")
        counts.append(len(segments))
        durations = durations or [round(s.duration, 6) for s in segments]
    assert durations is not None
    return AssetMedia(
        asset_id=asset.id, title=asset.title, durations=durations[:min(counts)],
        renditions=list(asset.renditions),
        has_audio="mp4a" in ",".join(r.codecs for r in asset.renditions), version=version)


def check_compatible(channel: Channel, media: AssetMedia) -> None:
    """Refuse, with a message naming the difference, what this channel cannot play."""
    # the last segment of an asset is as short as the asset's end makes it: a clip of a single
    # segment (shorter than one segment length) says nothing about its usual length, and plays
    # wherever it fits under the target duration
    body = media.durations[:-1] or media.durations
    nominal = max(body)
    longest = max(media.durations)
    usual_differs = (len(media.durations) > 1
                     and abs(nominal - channel.segment_s) > NOMINAL_TOLERANCE_S)
    if usual_differs or round(longest) > channel.target_duration:
        raise ItemIncompatible(
            f"Asset {media.asset_id} has {nominal:g} s segments (longest {longest:g} s); this "
            f"channel plays {channel.segment_s:g} s segments (target duration "
            f"{channel.target_duration} s).", code="segment_duration_mismatch")
    for rendition in media.renditions:
        video, _, audio = rendition.codecs.partition(",")
        family = video.split(".")[0]
        if family != channel.codec_family:
            raise ItemIncompatible(
                f"Rendition {rendition.name} of asset {media.asset_id} is {family}; this "
                f"channel plays {channel.codec_family}.", code="codec_mismatch")
        if audio and not audio.startswith("mp4a"):
            raise ItemIncompatible(
                f"Rendition {rendition.name} of asset {media.asset_id} has {audio} audio; this "
                "channel plays AAC (mp4a).", code="codec_mismatch")


def load_media(store: AssetStore, asset_id: str) -> AssetMedia:
    """``media_of`` an asset in the store (its rendition playlists read once)."""
    asset = store.get(asset_id)
    if asset.status != AssetStatus.READY:
        return media_of(asset, {})
    playlists = {r.name: store.storage.get_bytes(
        keys.media_playlist(asset.id, r.name, asset.version)).decode() for r in asset.renditions}
    return media_of(asset, playlists, asset.version)


def remember(channel: Channel, media: AssetMedia) -> None:
    """Keep ``media`` in the channel, unless the channel holds another version of that asset
    already: what it compiled (durations, segment URIs) must not change under its viewers, so
    a channel plays the version of an asset it first took (a replaced video joins channels
    that did not hold the asset yet)."""
    held = channel.media.get(media.asset_id)
    if held is None or held.version == media.version:
        channel.media[media.asset_id] = media
