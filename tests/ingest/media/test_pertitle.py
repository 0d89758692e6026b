"""Exact tests of the per-title decision: sample windows, CRF for a target VMAF, rates per rung
between the fixed ladder's floor and ceiling."""

from __future__ import annotations

import pytest

from ingest.media.ladder import select_renditions, with_video_kbps
from ingest.media.pertitle import (
    apply_video_kbps,
    choose_video_kbps,
    crf_for_vmaf,
    kbps_of,
    sample_windows,
)

LADDER_1080 = select_renditions(1920, 1080, 30, True)  # 5000 / 2800 / 1400 / 800 kbit/s


def test_windows_one_centred_in_each_third() -> None:
    assert sample_windows(60.0, 3, 4.0) == [(8.0, 4.0), (28.0, 4.0), (48.0, 4.0)]


def test_short_source_is_one_window_of_itself() -> None:
    assert sample_windows(10.0, 3, 4.0) == [(0.0, 10.0)]
    assert sample_windows(12.0, 3, 4.0) == [(0.0, 12.0)]


def test_windows_need_a_count_and_a_length() -> None:
    with pytest.raises(ValueError):
        sample_windows(60.0, 0, 4.0)
    with pytest.raises(ValueError):
        sample_windows(60.0, 3, 0.0)


TABLE = ((90.0, 26.0), (95.0, 22.0), (97.0, 19.0))


def test_crf_interpolates_between_measured_points() -> None:
    assert crf_for_vmaf(95.0, TABLE) == 22.0
    assert crf_for_vmaf(92.5, TABLE) == 24.0
    assert crf_for_vmaf(96.0, TABLE) == 20.5


def test_crf_clamped_to_the_table() -> None:
    assert crf_for_vmaf(80.0, TABLE) == 26.0
    assert crf_for_vmaf(99.0, TABLE) == 19.0


def test_higher_target_never_gives_a_higher_crf() -> None:
    crfs = [crf_for_vmaf(v) for v in (85, 90, 92, 93, 94, 95, 96, 97, 99)]
    assert crfs == sorted(crfs, reverse=True)


def test_kbps_of_bytes_and_seconds() -> None:
    assert kbps_of(1_000_000, 8.0) == 1000.0
    with pytest.raises(ValueError):
        kbps_of(1000, 0)


def test_easy_content_gets_what_it_needs_with_headroom() -> None:
    needed = {"1080p": 2000.0, "720p": 1000.0, "480p": 600.0, "360p": 400.0}
    assert choose_video_kbps(LADDER_1080, needed, headroom=1.1, floor_fraction=0.25) == {
        "1080p": 2200, "720p": 1100, "480p": 660, "360p": 440}


def test_hard_content_never_costs_more_than_the_fixed_ladder() -> None:
    needed = {"1080p": 9000.0, "720p": 4000.0, "480p": 1000.0, "360p": 2000.0}
    assert choose_video_kbps(LADDER_1080, needed, headroom=1.0, floor_fraction=0.25) == {
        "1080p": 5000, "720p": 2800, "480p": 1000, "360p": 800}


def test_still_content_stops_at_the_floor() -> None:
    needed = {"1080p": 20.0, "720p": 10.0, "480p": 8.0, "360p": 5.0}
    assert choose_video_kbps(LADDER_1080, needed, headroom=1.15, floor_fraction=0.25) == {
        "1080p": 1250, "720p": 700, "480p": 350, "360p": 200}


def test_a_lower_rung_never_costs_more_than_the_one_above() -> None:
    # a sample where the small rung needs more than the large one (noise the scaler keeps)
    needed = {"1080p": 900.0, "720p": 1500.0, "480p": 1200.0, "360p": 100.0}
    chosen = choose_video_kbps(LADDER_1080, needed, headroom=1.0, floor_fraction=0.25)
    assert chosen == {"1080p": 1250, "720p": 1250, "480p": 1200, "360p": 200}


def test_apply_sets_peak_buffer_and_declared_bandwidth() -> None:
    plans = apply_video_kbps(LADDER_1080, {"1080p": 2000, "360p": 300})
    top, _, _, bottom = plans
    assert (top.video_kbps, top.maxrate_kbps, top.bufsize_kbps) == (2000, 2200, 4000)
    assert top.bandwidth == (2200 + 128) * 1000
    assert (bottom.video_kbps, bottom.maxrate_kbps, bottom.bufsize_kbps) == (300, 330, 600)
    assert plans[1:3] == LADDER_1080[1:3]  # not named: fixed rates
    assert [p.name for p in plans] == [p.name for p in LADDER_1080]


def test_with_video_kbps_at_the_fixed_rate_is_the_fixed_plan() -> None:
    for plan in LADDER_1080:
        assert with_video_kbps(plan, plan.video_kbps) == plan
