"""The channel document keeps loading what earlier versions stored."""

from __future__ import annotations

from ingest.channels.models import AssetMedia
from ingest.media.ladder import Rendition


def test_media_stored_with_five_rendition_fields_still_loads() -> None:
    stored = ('{"asset_id": "as-a000000000000000", "durations": [4.0, 1.5], "renditions": '
              '[{"name": "360p", "width": 640, "height": 360, "bandwidth": 900000, '
              '"codecs": "avc1.64001e,mp4a.40.2"}]}')
    media = AssetMedia.model_validate_json(stored)
    (rendition,) = media.renditions
    assert isinstance(rendition, Rendition)
    assert (rendition.name, rendition.width, rendition.height, rendition.bandwidth,
            rendition.codecs) == ("360p", 640, 360, 900_000, "avc1.64001e,mp4a.40.2")
    assert AssetMedia.model_validate_json(media.model_dump_json()) == media
