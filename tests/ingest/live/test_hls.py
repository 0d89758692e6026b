from datetime import UTC, datetime

from ingest.live.hls import (
    LiveCaptions,
    LiveHls,
    media_playlist,
    multivariant,
    segment_name,
    subtitle_playlist,
    subtitle_segment_name,
)
from ingest.media.ladder import select_renditions

T0 = datetime(2026, 12, 1, 1, 0, 0, tzinfo=UTC)


def _hls() -> LiveHls:
    return LiveHls(renditions=select_renditions(426, 240, 25, True), segment_s=2)


def test_runs_continue_the_sequence_after_a_discontinuity() -> None:
    hls = _hls()
    assert hls.start_run(slate=False) == 0
    hls.add(0, 2.0, T0)
    hls.add(1, 2.0, T0)
    assert hls.start_run(slate=True) == 2
    hls.add(2, 2.0, T0)
    assert hls.start_run(slate=False) == 3
    hls.add(3, 1.6, T0)
    assert [(s.seq, s.disc, s.discontinuity, s.slate) for s in hls.segments] == [
        (0, 0, False, False), (1, 0, False, False), (2, 1, True, True), (3, 2, True, False)]
    assert hls.speaker_runs() == [(0, 1), (3, 3)]


def test_an_empty_run_adds_no_discontinuity() -> None:
    hls = _hls()
    hls.start_run(slate=False)
    hls.add(0, 2.0, None)
    hls.start_run(slate=False)  # the speaker's probe failed: nothing came of this run
    hls.start_run(slate=True)
    hls.add(1, 2.0, None)
    assert [s.disc for s in hls.segments] == [0, 1]


def test_media_playlist_is_a_sliding_window() -> None:
    hls = _hls()
    hls.start_run(slate=False)
    hls.add(0, 2.0, T0)
    hls.add(1, 2.0, None)
    hls.start_run(slate=True)
    hls.add(2, 2.0, T0)
    hls.start_run(slate=False)
    hls.add(3, 2.0, T0)
    text = media_playlist(hls, 3, lambda s: segment_name(s.seq))
    assert text == (
        "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
        "#EXTINF:2,\nseg-000001.ts\n"
        "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-12-01T01:00:00.000+00:00\n"
        "#EXTINF:2,\nseg-000002.ts\n"
        "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-12-01T01:00:00.000+00:00\n"
        "#EXTINF:2,\nseg-000003.ts\n")
    later = media_playlist(hls, 1, lambda s: segment_name(s.seq))
    assert "#EXT-X-DISCONTINUITY-SEQUENCE:2" in later
    assert "#EXT-X-DISCONTINUITY\n" not in later  # counted by the sequence instead
    hls.ended = True
    assert media_playlist(hls, 3, lambda s: segment_name(s.seq)).endswith("#EXT-X-ENDLIST\n")


def test_multivariant_lists_every_rendition() -> None:
    text = multivariant(_hls(), lambda r: f"{r.name}.m3u8")
    assert 'RESOLUTION=426x240' in text and text.rstrip().endswith("240p.m3u8")


def _captioned() -> LiveHls:
    hls = _hls()
    hls.captions = LiveCaptions(language="en", first_seq=0, next_seq=0)
    hls.start_run(slate=False)
    hls.add(0, 2.0, T0, start_pts=127_920)
    hls.add(1, 2.0, None)
    hls.start_run(slate=True)
    hls.add(2, 2.0, T0)
    return hls


def test_the_subtitle_playlist_follows_the_video_as_far_as_it_is_written() -> None:
    hls = _captioned()
    assert hls.segments[0].start_pts == 127_920
    assert hls.captions is not None
    hls.captions.next_seq = 2  # segment 2's WebVTT is not written yet
    text = subtitle_playlist(hls, 15, lambda s: subtitle_segment_name(s.seq))
    assert text == (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-12-01T01:00:00.000+00:00\n"
        "#EXTINF:2,\nseg-000000.vtt\n#EXTINF:2,\nseg-000001.vtt\n")
    hls.captions.next_seq = 3
    hls.ended = True
    text = subtitle_playlist(hls, 2, lambda s: subtitle_segment_name(s.seq))
    assert text == (  # same numbers and discontinuities as the video's
        "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
        "#EXTINF:2,\nseg-000001.vtt\n"
        "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-12-01T01:00:00.000+00:00\n"
        "#EXTINF:2,\nseg-000002.vtt\n#EXT-X-ENDLIST\n")
    assert text.replace(".vtt", ".ts") == media_playlist(hls, 2, lambda s: segment_name(s.seq))


def test_subtitles_end_only_once_every_segment_is_written() -> None:
    hls = _captioned()
    assert hls.captions is not None
    hls.captions.next_seq = 1
    hls.ended = True
    assert "ENDLIST" not in subtitle_playlist(hls, 15, lambda s: subtitle_segment_name(s.seq))


def test_multivariant_names_the_live_captions() -> None:
    hls = _captioned()
    text = multivariant(hls, lambda r: f"{r.name}.m3u8", lambda c: f"{c.rendition}.m3u8")
    assert text == (
        '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n'
        '#EXT-X-MEDIA:URI="subs-en.m3u8",TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="en",'
        'NAME="English",DEFAULT=YES,AUTOSELECT=YES\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=1008000,RESOLUTION=426x240,FRAME-RATE=25,'
        'CODECS="avc1.64001e,mp4a.40.2",SUBTITLES="subs"\n240p.m3u8\n')
    hls.captions = None
    assert "SUBTITLES" not in multivariant(hls, lambda r: f"{r.name}.m3u8",
                                           lambda c: f"{c.rendition}.m3u8")
