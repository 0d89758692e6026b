"""The asset record reads what earlier versions wrote, and keeps one type per thing."""

from __future__ import annotations

import json

from ingest.assets.models import Asset
from ingest.assets.public import public_asset
from ingest.media.ladder import select_renditions
from ingest.media.probe import MediaInfo

LEGACY = {
    "id": "as-0123456789abcdef", "status": "ready", "title": "Talk",
    "source": {"demuxer": "mov", "format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration_s": 12.0,
               "width": 1280, "height": 720, "fps": 25.0, "video_codec": "h264",
               "audio_codec": "aac", "has_audio": True, "size_bytes": 4096},
    "renditions": [
        {"name": "720p", "width": 1280, "height": 720, "bandwidth": 2_950_123,
         "codecs": "avc1.64001f,mp4a.40.2"},
        {"name": "360p", "width": 640, "height": 360, "bandwidth": 901_234,
         "codecs": "avc1.64001e,mp4a.40.2"},
    ],
}


def test_a_legacy_record_reads_with_its_plan_chosen_again_and_its_measured_bandwidth() -> None:
    asset = Asset.model_validate_json(json.dumps(LEGACY))
    assert asset.source == MediaInfo(
        demuxer="mov", format_name="mov,mp4,m4a,3gp,3g2,mj2", duration_s=12.0, width=1280,
        height=720, fps=25.0, video_codec="h264", audio_codec="aac", size_bytes=4096)
    assert asset.source.has_audio
    plans = {p.name: p for p in select_renditions(1280, 720, 25.0, True)}
    assert asset.renditions == [plans["720p"].model_copy(update={"bandwidth": 2_950_123}),
                                plans["360p"].model_copy(update={"bandwidth": 901_234})]
    assert [r.codecs for r in asset.renditions] == [
        r["codecs"] for r in LEGACY["renditions"]]  # type: ignore[index]


def test_a_legacy_rendition_off_the_ladder_gets_the_nearest_rates_at_its_own_size() -> None:
    odd = {**LEGACY, "renditions": [{"name": "700p", "width": 1244, "height": 700,
                                      "bandwidth": 2_000_000, "codecs": "avc1.64001f"}]}
    [rendition] = Asset.model_validate(odd).renditions
    assert (rendition.name, rendition.width, rendition.height, rendition.bandwidth) == (
        "700p", 1244, 700, 2_000_000)
    assert rendition.level == "3.1" and rendition.audio_kbps == 128


def test_a_record_round_trips_and_keeps_the_keys_earlier_readers_know() -> None:
    asset = Asset.model_validate(LEGACY)
    stored = json.loads(asset.model_dump_json())
    assert Asset.model_validate(stored) == asset
    assert stored["source"]["has_audio"] is True
    assert {"name", "width", "height", "bandwidth", "codecs"} <= set(stored["renditions"][0])


def test_the_public_view_shows_a_rendition_as_the_contract_names_it() -> None:
    view = public_asset(Asset.model_validate(LEGACY), "http://podium.test")
    assert view["renditions"][0] == {"name": "720p", "width": 1280, "height": 720,
                                     "bandwidth": 2_950_123, "codecs": "avc1.64001f,mp4a.40.2"}
