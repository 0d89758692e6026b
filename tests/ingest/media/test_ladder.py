"""Exact tests for the ladder: which renditions a source gets, at which size, rate and level."""

from __future__ import annotations

import pytest

from ingest.media.ladder import (
    LADDER,
    Rendition,
    Rung,
    h264_level,
    output_fps,
    select_renditions,
)


def sizes(plans: list[Rendition]) -> list[tuple[str, int, int]]:
    return [(p.name, p.width, p.height) for p in plans]


def test_1080p_16_9_gets_the_whole_ladder() -> None:
    plans = select_renditions(1920, 1080, 30, True)
    assert sizes(plans) == [
        ("1080p", 1920, 1080),
        ("720p", 1280, 720),
        ("480p", 854, 480),
        ("360p", 640, 360),
    ]
    assert plans[0] == Rendition(
        name="1080p",
        width=1920,
        height=1080,
        fps=30,
        video_kbps=5000,
        maxrate_kbps=5500,
        bufsize_kbps=10000,
        audio_kbps=128,
        level="4.0",
        bandwidth=5_628_000,  # declared: maxrate + audio, until publishing measures it
        codecs="avc1.640028,mp4a.40.2",
    )
    assert plans[0].measured(4_000_000, 3_000_000).model_dump() == {
        **plans[0].model_dump(), "bandwidth": 4_000_000, "average_bandwidth": 3_000_000}


def test_4_3_keeps_its_aspect() -> None:
    assert sizes(select_renditions(1440, 1080, 25, True)) == [
        ("1080p", 1440, 1080),
        ("720p", 960, 720),
        ("480p", 640, 480),
        ("360p", 480, 360),
    ]


def test_portrait_is_laddered_on_its_short_side() -> None:
    assert sizes(select_renditions(1080, 1920, 30, True)) == [
        ("1080p", 1080, 1920),
        ("720p", 720, 1280),
        ("480p", 480, 854),
        ("360p", 360, 640),
    ]


def test_720p_source_is_never_upscaled() -> None:
    assert sizes(select_renditions(1280, 720, 30, True)) == [
        ("720p", 1280, 720),
        ("480p", 854, 480),
        ("360p", 640, 360),
    ]


def test_tiny_source_gets_its_own_size_as_the_one_rendition() -> None:
    plans = select_renditions(200, 112, 30, True)
    assert sizes(plans) == [("112p", 200, 112)]
    assert plans[0].video_kbps == LADDER[-1].video_kbps


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        # Odd source sizes round down to even: rounding up would upscale by a pixel.
        (203, 115, [("114p", 202, 114)]),
        (115, 203, [("114p", 114, 202)]),
        (1283, 720, [("720p", 1282, 720), ("480p", 856, 480), ("360p", 642, 360)]),
    ],
)
def test_odd_source_sizes_round_down(
    width: int, height: int, expected: list[tuple[str, int, int]]
) -> None:
    assert sizes(select_renditions(width, height, 30, False)) == expected


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (1920, 1080),
        (1440, 1080),
        (1080, 1920),
        (1280, 720),
        (3840, 2160),
        (200, 112),
        (203, 115),
        (115, 203),
        (1283, 720),
        (721, 1283),
        (639, 359),
        (1366, 768),
        (360, 360),
        (2, 2),
        (3, 3),
        (1000, 3),
    ],
)
def test_every_rendition_is_even_and_no_larger_than_the_source(width: int, height: int) -> None:
    plans = select_renditions(width, height, 30, True)
    assert plans
    for p in plans:
        assert p.width % 2 == 0 and p.height % 2 == 0
        assert p.width <= max(2, width) and p.height <= max(2, height)
        assert (p.width >= p.height) == (width >= height)  # orientation kept


def test_aspect_is_kept_within_rounding() -> None:
    for width, height in [(1920, 1080), (1440, 1080), (1080, 1920), (1366, 768)]:
        for p in select_renditions(width, height, 30, True):
            assert abs(p.width / p.height - width / height) < 0.01


def test_fps_is_capped_at_60_by_halving() -> None:
    plans = select_renditions(3840, 2160, 120, True)
    assert {p.fps for p in plans} == {60.0}
    assert output_fps(120) == 60.0
    assert output_fps(100) == 50.0
    assert output_fps(60) == 60.0


def test_ntsc_rates_are_kept() -> None:
    assert output_fps(29.97) == 29.97
    assert output_fps(30000 / 1001) == 29.97
    assert output_fps(59.94) == 59.94
    assert {p.fps for p in select_renditions(1920, 1080, 29.97, True)} == {29.97}


@pytest.mark.parametrize("fps", [None, 0.0, -1.0])
def test_unknown_rate_defaults_to_25(fps: float | None) -> None:
    assert output_fps(fps) == 25.0


def test_high_frame_rate_gets_more_bits() -> None:
    plans = select_renditions(1920, 1080, 60, True)
    assert [(p.video_kbps, p.maxrate_kbps, p.bufsize_kbps) for p in plans] == [
        (7500, 8250, 15000),
        (4200, 4620, 8400),
        (2100, 2310, 4200),
        (1200, 1320, 2400),
    ]


def test_audio_flag_drives_codecs_and_bandwidth() -> None:
    with_audio = select_renditions(1920, 1080, 30, True)
    video_only = select_renditions(1920, 1080, 30, False)
    assert [p.codecs for p in with_audio] == [
        "avc1.640028,mp4a.40.2",
        "avc1.64001f,mp4a.40.2",
        "avc1.64001f,mp4a.40.2",
        "avc1.64001e,mp4a.40.2",
    ]
    assert [p.codecs for p in video_only] == [
        "avc1.640028",
        "avc1.64001f",
        "avc1.64001f",
        "avc1.64001e",
    ]
    assert with_audio[0].bandwidth == 5_628_000
    assert video_only[0].bandwidth == 5_500_000
    assert all(p.audio_kbps is None for p in video_only)


@pytest.mark.parametrize(
    ("width", "height", "fps", "level"),
    [
        (1920, 1080, 30, "4.0"),
        (1280, 720, 30, "3.1"),
        (1920, 1080, 60, "4.2"),
        (1280, 720, 60, "3.2"),
        (640, 360, 30, "3.0"),
        (854, 480, 30, "3.1"),
        (3840, 2160, 30, "5.1"),
        (3840, 2160, 60, "5.2"),
        (7680, 4320, 60, "5.2"),
    ],
)
def test_h264_level(width: int, height: int, fps: float, level: str) -> None:
    assert h264_level(width, height, fps) == level


def test_custom_ladder() -> None:
    ladder = (Rung("180p", 180, 400, 64), Rung("90p", 90, 200, 64))
    assert sizes(select_renditions(320, 180, 25, True, ladder=ladder)) == [
        ("180p", 320, 180),
        ("90p", 160, 90),
    ]
