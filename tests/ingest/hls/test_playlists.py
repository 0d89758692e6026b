"""Playlists serialise to exact text; media playlists parse and rewrite exactly."""

from __future__ import annotations

import pytest

from ingest.hls.playlists import (
    Segment,
    SubtitleTrack,
    media_playlist_uri,
    multivariant,
    parse_media_segments,
    peak_and_average_bandwidth,
    rewrite_uris,
    video_media_playlist,
    vod_media_playlist,
)
from ingest.media.ladder import Rendition

R720 = Rendition(
    name="720p", width=1280, height=720, fps=30.0, video_kbps=2800, maxrate_kbps=3080,
    bufsize_kbps=5600, audio_kbps=128, level="3.1", bandwidth=3_208_000,
    average_bandwidth=2_100_000, codecs="avc1.64001f,mp4a.40.2",
)
R360 = Rendition(
    name="360p", width=640, height=360, fps=29.97, video_kbps=800, maxrate_kbps=880,
    bufsize_kbps=1600, audio_kbps=128, level="3.0", bandwidth=1_008_000,
    codecs="avc1.64001e,mp4a.40.2",
)


def test_multivariant_without_subtitles_sorted_by_bandwidth() -> None:
    assert multivariant([R360, R720]).dumps() == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=3208000,AVERAGE-BANDWIDTH=2100000,RESOLUTION=1280x720,"
        'FRAME-RATE=30,CODECS="avc1.64001f,mp4a.40.2"\n'
        "720p/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=1008000,RESOLUTION=640x360,FRAME-RATE=29.97,"
        'CODECS="avc1.64001e,mp4a.40.2"\n'
        "360p/index.m3u8\n"
    )


def test_multivariant_with_subtitles() -> None:
    playlist = multivariant(
        [R720],
        subtitles=[
            SubtitleTrack("subs/en.m3u8", "en", "English", default=True),
            SubtitleTrack("subs/fr.m3u8", "fr", 'Fran\u00e7ais "auto"\n'),
        ],
    )
    assert playlist.dumps() == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        '#EXT-X-MEDIA:URI="subs/en.m3u8",TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="en",'
        'NAME="English",DEFAULT=YES,AUTOSELECT=YES\n'
        '#EXT-X-MEDIA:URI="subs/fr.m3u8",TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="fr",'
        'NAME="Fran\u00e7ais \'auto\' ",DEFAULT=NO,AUTOSELECT=YES\n'
        "#EXT-X-STREAM-INF:BANDWIDTH=3208000,AVERAGE-BANDWIDTH=2100000,RESOLUTION=1280x720,"
        'FRAME-RATE=30,CODECS="avc1.64001f,mp4a.40.2",SUBTITLES="subs"\n'
        "720p/index.m3u8\n"
    )


def test_media_playlist_uri() -> None:
    assert media_playlist_uri("720p") == "720p/index.m3u8"


def test_vod_media_playlist() -> None:
    # TARGETDURATION is the largest EXTINF rounded to the nearest integer (RFC 8216 4.3.3.1).
    playlist = vod_media_playlist([("seg-00000.vtt", 4.0), ("seg-00001.vtt", 4.5),
                                   ("seg-00002.vtt", 0.4)])
    assert playlist.dumps() == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-TARGETDURATION:5\n"
        "#EXT-X-PLAYLIST-TYPE:VOD\n"
        "#EXTINF:4,\n"
        "seg-00000.vtt\n"
        "#EXTINF:4.5,\n"
        "seg-00001.vtt\n"
        "#EXTINF:0.4,\n"
        "seg-00002.vtt\n"
        "#EXT-X-ENDLIST\n"
    )
    assert parse_media_segments(playlist.dumps()) == [
        Segment("seg-00000.vtt", 4.0), Segment("seg-00001.vtt", 4.5), Segment("seg-00002.vtt", 0.4)]
    with pytest.raises(ValueError):
        vod_media_playlist([])


MEDIA = (
    "#EXTM3U\n"
    "#EXT-X-VERSION:6\n"
    "#EXT-X-TARGETDURATION:4\n"
    "#EXT-X-MEDIA-SEQUENCE:0\n"
    "#EXT-X-PLAYLIST-TYPE:VOD\n"
    "#EXT-X-INDEPENDENT-SEGMENTS\n"
    "#EXTINF:4.000000,\n"
    "seg-00000.ts\n"
    "#EXTINF:4.004000,title\n"
    "seg-00001.ts\n"
    "\n"
    "#EXTINF:1.5,\n"
    "  seg-00002.ts  \n"
    "#EXT-X-ENDLIST\n"
)


def test_parse_media_segments() -> None:
    assert parse_media_segments(MEDIA) == [
        Segment("seg-00000.ts", 4.0),
        Segment("seg-00001.ts", 4.004),
        Segment("seg-00002.ts", 1.5),
    ]


def test_parse_media_segments_ignores_uris_without_extinf() -> None:
    assert parse_media_segments("#EXTM3U\nstray.ts\n#EXTINF:2,\na.ts\nb.ts\n") == [
        Segment("a.ts", 2.0)
    ]
    assert parse_media_segments("") == []


def test_rewrite_uris_plain() -> None:
    assert rewrite_uris(MEDIA, lambda uri: f"https://cdn.example/x/{uri}?sig=1").dumps() == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:6\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-TARGETDURATION:4\n"
        "#EXT-X-PLAYLIST-TYPE:VOD\n"
        "#EXTINF:4,\n"
        "https://cdn.example/x/seg-00000.ts?sig=1\n"
        "#EXTINF:4.004,title\n"
        "https://cdn.example/x/seg-00001.ts?sig=1\n"
        "#EXTINF:1.5,\n"
        "https://cdn.example/x/seg-00002.ts?sig=1\n"
        "#EXT-X-ENDLIST\n"
    )


def test_rewrite_uris_multivariant_reaches_variants_and_subtitles() -> None:
    text = multivariant([R720], [SubtitleTrack("subs-en/index.m3u8", "en", "English")]).dumps()

    def resolve(uri: str) -> str:
        return "/play/x/" + uri.removesuffix("/index.m3u8") + '.m3u8?t="1"'

    assert rewrite_uris(text, resolve).dumps() == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        '#EXT-X-MEDIA:URI="/play/x/subs-en.m3u8?t=\'1\'",TYPE=SUBTITLES,GROUP-ID="subs",'
        'LANGUAGE="en",NAME="English",DEFAULT=NO,AUTOSELECT=YES\n'
        "#EXT-X-STREAM-INF:BANDWIDTH=3208000,AVERAGE-BANDWIDTH=2100000,RESOLUTION=1280x720,"
        'FRAME-RATE=30,CODECS="avc1.64001f,mp4a.40.2",SUBTITLES="subs"\n'
        "/play/x/720p.m3u8?t='1'\n"  # no URI can break out of its quotes or its line
    )


def test_rewrite_uris_ext_x_map() -> None:
    text = '#EXTM3U\n#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0"\n#EXTINF:4,\nseg-1.m4s'
    assert rewrite_uris(text, lambda uri: "/p/" + uri).dumps() == (
        '#EXTM3U\n#EXT-X-MAP:URI="/p/init.mp4",BYTERANGE="720@0"\n#EXTINF:4,\n/p/seg-1.m4s\n'
    )


def test_rewrite_uris_calls_resolve_once_per_uri_in_order() -> None:
    seen: list[str] = []

    def resolve(uri: str) -> str:
        seen.append(uri)
        return uri

    rewrite_uris(MEDIA, resolve)
    assert seen == ["seg-00000.ts", "seg-00001.ts", "seg-00002.ts"]


def test_peak_and_average_bandwidth() -> None:
    # 1000 B / 4 s = 2000 b/s, 2000 B / 4 s = 4000 b/s; the 0.4 s tail is too short to count
    # for the peak but counts in the average: 3100 B * 8 / 8.4 s = 2952.38 b/s.
    assert peak_and_average_bandwidth([1000, 2000, 100], [4.0, 4.0, 0.4]) == (4000, 2952)


def test_peak_and_average_bandwidth_only_short_segments() -> None:
    assert peak_and_average_bandwidth([100, 100], [0.25, 0.25]) == (3200, 3200)


@pytest.mark.parametrize(("sizes", "durations"), [([], []), ([1, 2], [1.0]), ([1], [1.0, 2.0])])
def test_peak_and_average_bandwidth_needs_one_size_per_segment(
    sizes: list[int], durations: list[float]
) -> None:
    with pytest.raises(ValueError):
        peak_and_average_bandwidth(sizes, durations)


def test_video_media_playlist_grows_as_event_then_ends_as_vod() -> None:
    first = [("seg-00000.ts", 4.0), ("seg-00001.ts", 4.0)]
    assert video_media_playlist(first, target_s=4, complete=False).dumps() == (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-TARGETDURATION:4\n"
        "#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-START:TIME-OFFSET=0.0,PRECISE=YES\n"
        "#EXTINF:4,\nseg-00000.ts\n#EXTINF:4,\nseg-00001.ts\n")
    done = [*first, ("seg-00002.ts", 1.52)]
    assert video_media_playlist(done, target_s=4, complete=True).dumps() == (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-TARGETDURATION:4\n"
        "#EXT-X-PLAYLIST-TYPE:VOD\n"
        "#EXTINF:4,\nseg-00000.ts\n#EXTINF:4,\nseg-00001.ts\n#EXTINF:1.52,\nseg-00002.ts\n"
        "#EXT-X-ENDLIST\n")


def test_video_media_playlist_target_covers_a_longer_segment() -> None:
    playlist = video_media_playlist([("seg-00000.ts", 4.6)], target_s=4, complete=False)
    assert playlist.target_duration == 5
    with pytest.raises(ValueError):
        video_media_playlist([], target_s=4, complete=True)
