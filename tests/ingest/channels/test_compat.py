"""What may join a channel: fewer rungs or no audio do; another segment length or codec not."""

from __future__ import annotations

import pytest

from ingest.assets.models import Asset, AssetStatus
from ingest.channels.compat import AssetNotPlayable, ItemIncompatible, check_compatible, media_of
from ingest.media.ladder import Rendition
from tests.ingest.channels.support import channel


def _playlist(durations: list[float]) -> str:
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:4"]
    for n, d in enumerate(durations):
        lines += [f"#EXTINF:{d},", f"seg-{n:05d}.ts"]
    return "\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n"


def _asset(codecs: str = "avc1.64001e,mp4a.40.2", heights: tuple[int, ...] = (360,)) -> Asset:
    return Asset(id="as-0123456789abcdef", status=AssetStatus.READY, title="Keynote",
                 renditions=[_rendition(h, codecs) for h in heights])


def _rendition(height: int, codecs: str) -> Rendition:
    return Rendition(name=f"{height}p", width=height * 16 // 9, height=height, fps=25,
                     video_kbps=height * 2, maxrate_kbps=height * 2, bufsize_kbps=height * 4,
                     audio_kbps=128 if "mp4a" in codecs else None, level="3.1",
                     bandwidth=height * 2000, codecs=codecs)


def test_media_snapshot_of_a_ready_asset() -> None:
    asset = _asset(heights=(720, 360))
    media = media_of(asset, {"720p": _playlist([4, 4, 2.5]), "360p": _playlist([4, 4, 2.5])})
    assert media.durations == [4, 4, 2.5]
    assert [r.name for r in media.renditions] == ["720p", "360p"]
    assert media.has_audio
    check_compatible(channel(), media)


def test_one_rung_and_no_audio_still_play() -> None:
    media = media_of(_asset("avc1.64001e", (240,)), {"240p": _playlist([4, 1])})
    assert not media.has_audio
    check_compatible(channel(), media)


def test_a_clip_shorter_than_one_segment_plays() -> None:
    check_compatible(channel(), media_of(_asset(), {"360p": _playlist([3.0])}))
    check_compatible(channel(), media_of(_asset(), {"360p": _playlist([0.6])}))


def test_one_segment_longer_than_the_target_is_refused() -> None:
    with pytest.raises(ItemIncompatible) as info:
        check_compatible(channel(), media_of(_asset(), {"360p": _playlist([6.0])}))
    assert info.value.code == "segment_duration_mismatch"


def test_not_ready_is_refused() -> None:
    asset = _asset()
    asset.status = AssetStatus.PREPARING
    with pytest.raises(AssetNotPlayable):
        media_of(asset, {})


def test_playable_but_still_encoding_is_refused() -> None:
    """A playable asset's playlists still grow (EVENT): a channel takes only ready ones."""
    asset = _asset()
    asset.status, asset.playable = AssetStatus.PREPARING, True
    with pytest.raises(AssetNotPlayable):
        media_of(asset, {"360p": _playlist([4, 4])})


def test_other_segment_duration_is_refused_naming_both() -> None:
    media = media_of(_asset(), {"360p": _playlist([6, 6, 6, 2])})
    with pytest.raises(ItemIncompatible) as info:
        check_compatible(channel(), media)
    assert info.value.code == "segment_duration_mismatch"
    assert "6 s segments" in info.value.message and "4 s segments" in info.value.message


def test_other_codec_family_is_refused() -> None:
    media = media_of(_asset("hvc1.1.6.L93.B0,mp4a.40.2"), {"360p": _playlist([4, 4])})
    with pytest.raises(ItemIncompatible) as info:
        check_compatible(channel(), media)
    assert info.value.code == "codec_mismatch" and "hvc1" in info.value.message
