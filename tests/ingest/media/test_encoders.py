"""Choice of the H.264 encoder: a hardware one only when ffmpeg lists it and its test encode
works, in the order NVENC, Quick Sync, VAAPI; libx264 otherwise. Selection is tested with
made-up encoder lists and test outcomes; detection runs for real on this machine (no GPU
here, while Debian's ffmpeg lists all three: it must end on libx264)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.media import commands, encoders, ffmpeg
from ingest.media.encoders import LIBX264, NVENC, QSV, VAAPI, Encoder, parse_encoder_list, select
from ingest.media.ladder import select_renditions

LISTING = """Encoders:
 V..... = Video
 A..... = Audio
 S..... = Subtitle
 .F.... = Frame-level multithreading
 ------
 V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)
 V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)
 V..... h264_qsv             H.264 (Intel Quick Sync Video acceleration) (codec h264)
 V....D h264_vaapi           H.264/AVC (VAAPI) (codec h264)
 A....D aac                  AAC (Advanced Audio Coding)
"""
EVERY_H264 = {"libx264", "h264_nvenc", "h264_qsv", "h264_vaapi"}


def _works(*names: str) -> tuple[list[str], Callable[[Encoder], bool]]:
    tried: list[str] = []

    def works(encoder: Encoder) -> bool:
        tried.append(encoder.name)
        return encoder.name in names
    return tried, works


def test_encoder_list_is_parsed_without_the_legend() -> None:
    assert parse_encoder_list(LISTING) == EVERY_H264 | {"aac"}


def test_nothing_works_falls_back_to_libx264_after_trying_each_in_order() -> None:
    tried, works = _works()
    assert select(EVERY_H264, works) is LIBX264
    assert tried == ["h264_nvenc", "h264_qsv", "h264_vaapi"]


@pytest.mark.parametrize(("working", "chosen"), [
    (("h264_nvenc", "h264_qsv", "h264_vaapi"), NVENC),
    (("h264_qsv", "h264_vaapi"), QSV),
    (("h264_vaapi",), VAAPI),
])
def test_first_working_hardware_encoder_wins(working: tuple[str, ...], chosen: Encoder) -> None:
    _, works = _works(*working)
    assert select(EVERY_H264, works) is chosen


def test_an_encoder_ffmpeg_does_not_list_is_never_tried() -> None:
    tried, works = _works("h264_nvenc")
    assert select({"libx264", "h264_vaapi"}, works) is LIBX264
    assert tried == ["h264_vaapi"]


def test_a_forced_encoder_is_still_tested_and_libx264_is_the_fallback() -> None:
    tried, works = _works("h264_nvenc", "h264_vaapi")
    assert select(EVERY_H264, works, wanted="h264_vaapi") is VAAPI
    tried, works = _works()
    assert select(EVERY_H264, works, wanted="h264_qsv") is LIBX264
    assert tried == ["h264_qsv"]
    tried, works = _works("h264_nvenc")
    assert select(EVERY_H264, works, wanted="libx264") is LIBX264
    assert tried == []


def test_hardware_encoders_keep_the_ladder_and_change_only_their_own_options(
        tmp_path: Path) -> None:
    plans = select_renditions(1280, 720, 30, True)
    out = tmp_path

    def ladder(enc: Encoder) -> list[str]:
        return commands.hls_ladder_command(
            Path("/in.mp4"), "mov", out, plans, video_stream=0, audio_stream=1, segment_s=4,
            preset="veryfast", threads=2, encoder=enc.name, device_args=enc.device_args,
            upload_filter=enc.upload_filter)

    x264, nvenc, vaapi = ladder(LIBX264), ladder(NVENC), ladder(VAAPI)
    for args in (x264, nvenc, vaapi):  # same renditions, rates, keyframes and HLS output
        for flag in ("-var_stream_map", "-force_key_frames", "-hls_time", "-b:v:0", "-b:v:1",
                     "-maxrate:v:1", "-level:v:0", "-g"):
            assert args[args.index(flag) + 1] == x264[x264.index(flag) + 1], flag
    assert nvenc[nvenc.index("-c:v") + 1] == "h264_nvenc" and "-preset" not in nvenc
    assert nvenc[nvenc.index("-forced-idr") + 1] == "1"
    assert vaapi[1:3] == ["-vaapi_device", "/dev/dri/renderD128"]
    chains = vaapi[vaapi.index("-filter_complex") + 1]
    assert chains.count("hwupload") == len(plans)


def test_detection_on_this_machine_picks_a_working_encoder() -> None:
    """Real ffmpeg: whatever it lists, the encoder chosen passes its test encode; with no GPU
    device (the machine the project is built on), that is libx264."""
    chosen = encoders.detect()
    ffmpeg.run(commands.encoder_test_command(chosen.name, chosen.device_args,
                                             chosen.upload_filter), timeout_s=60)
    if not Path("/dev/dri").exists() and not Path("/dev/nvidia0").exists():
        assert chosen is LIBX264
