"""Exact argument lists of the ffprobe/ffmpeg builders, and one real ladder encode."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ingest.hls.playlists import parse_media_segments
from ingest.media import ffmpeg as runner
from ingest.media.commands import (
    audio_extract_command,
    hls_ladder_command,
    live_ladder_command,
    probe_command,
    slate_live_command,
    srt_relay_command,
    srt_relay_files,
)
from ingest.media.ladder import Rendition, select_renditions
from tests.ingest.media.conftest import Encode, Probe
from tests.support.media import make_clip, make_cover_first_mp4, make_two_audio_tracks

P720 = Rendition(
    name="720p",
    width=1280,
    height=720,
    fps=30,
    video_kbps=2800,
    maxrate_kbps=3080,
    bufsize_kbps=5600,
    audio_kbps=128,
    level="3.1",
    bandwidth=3_208_000,
    codecs="avc1.64001f,mp4a.40.2",
)
P480 = Rendition(
    name="480p",
    width=854,
    height=480,
    fps=30,
    video_kbps=1400,
    maxrate_kbps=1540,
    bufsize_kbps=2800,
    audio_kbps=128,
    level="3.1",
    bandwidth=1_668_000,
    codecs="avc1.64001f,mp4a.40.2",
)
P360_SILENT = Rendition(
    name="360p",
    width=640,
    height=360,
    fps=30000 / 1001,
    video_kbps=800,
    maxrate_kbps=880,
    bufsize_kbps=1600,
    audio_kbps=None,
    level="3.0",
    bandwidth=880_000,
    codecs="avc1.64001e",
)
TRAILER = ["-hide_banner", "-nostdin", "-y", "-progress", "pipe:1", "-nostats"]


def test_probe_command() -> None:
    assert probe_command(Path("/in/src"), "mov") == [
        "ffprobe",
        "-hide_banner",
        "-v",
        "error",
        "-protocol_whitelist",
        "file",
        "-f",
        "mov",
        "-count_packets",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        "file:/in/src",
    ]


def test_audio_extract_command() -> None:
    assert audio_extract_command(Path("/in/src"), "matroska", 3, Path("/work/a.wav")) == [
        "ffmpeg",
        "-f",
        "matroska",
        "-protocol_whitelist",
        "file",
        "-i",
        "file:/in/src",
        "-map",
        "0:3",
        "-f",
        "wav",
        "-ac",
        "1",
        "-ar",
        "16000",
        "-c:a",
        "pcm_s16le",
        "/work/a.wav",
        *TRAILER,
    ]


def test_hls_ladder_command_two_renditions_with_audio() -> None:
    args = hls_ladder_command(
        Path("/in/src"),
        "mov",
        Path("/out"),
        [P720, P480],
        video_stream=1,
        audio_stream=2,
        segment_s=4,
        preset="veryfast",
        threads=2,
    )
    assert args == [
        "ffmpeg",
        "-f",
        "mov",
        "-protocol_whitelist",
        "file",
        "-i",
        "file:/in/src",
        "-filter_complex",
        "[0:1]split=2[s0][s1];"
        "[s0]fps=fps=30[s2];[s2]scale=1280:720:flags=bicubic[s3];[s3]setsar=1[s4];"
        "[s4]format=yuv420p[s5];"
        "[0:2]aresample=48000[s6];[s6]asplit=2[s7][s8];"
        "[s1]fps=fps=30[s9];[s9]scale=854:480:flags=bicubic[s10];[s10]setsar=1[s11];"
        "[s11]format=yuv420p[s12]",
        "-map",
        "[s5]",
        "-map",
        "[s7]",
        "-map",
        "[s12]",
        "-map",
        "[s8]",
        "-f",
        "hls",
        "-ac",
        "2",
        "-b:a",
        "128k",
        "-b:v:0",
        "2800k",
        "-b:v:1",
        "1400k",
        "-bufsize:v:0",
        "5600k",
        "-bufsize:v:1",
        "2800k",
        "-c:a",
        "aac",
        "-c:v",
        "libx264",
        "-force_key_frames",
        "expr:gte(t,n_forced*4)",
        "-g",
        "120",
        "-hls_flags",
        "independent_segments+temp_file",
        "-hls_playlist_type",
        "event",
        "-hls_segment_filename",
        "/out/%v/seg-%05d.ts",
        "-hls_segment_type",
        "mpegts",
        "-hls_time",
        "4",
        "-keyint_min",
        "120",
        "-level:v:0",
        "3.1",
        "-level:v:1",
        "3.1",
        "-maxrate:v:0",
        "3080k",
        "-maxrate:v:1",
        "1540k",
        "-preset",
        "veryfast",
        "-profile:v",
        "high",
        "-sc_threshold",
        "0",
        "-threads",
        "2",
        "-var_stream_map",
        "v:0,a:0,name:720p v:1,a:1,name:480p",
        "/out/%v/index.m3u8",
        *TRAILER,
    ]


def test_hls_ladder_command_one_rendition_video_only() -> None:
    args = hls_ladder_command(
        Path("/in/src"),
        "matroska",
        Path("/out"),
        [P360_SILENT],
        video_stream=0,
        audio_stream=None,
        segment_s=2,
        preset="ultrafast",
        threads=0,
    )
    assert args == [
        "ffmpeg",
        "-f",
        "matroska",
        "-protocol_whitelist",
        "file",
        "-i",
        "file:/in/src",
        "-filter_complex",
        "[0:0]split=1[s0];[s0]fps=fps=30000/1001[s1];[s1]scale=640:360:flags=bicubic[s2];"
        "[s2]setsar=1[s3];[s3]format=yuv420p[s4]",
        "-map",
        "[s4]",
        "-f",
        "hls",
        "-b:v:0",
        "800k",
        "-bufsize:v:0",
        "1600k",
        "-c:v",
        "libx264",
        "-force_key_frames",
        "expr:gte(t,n_forced*2)",
        "-g",
        "60",
        "-hls_flags",
        "independent_segments+temp_file",
        "-hls_playlist_type",
        "event",
        "-hls_segment_filename",
        "/out/%v/seg-%05d.ts",
        "-hls_segment_type",
        "mpegts",
        "-hls_time",
        "2",
        "-keyint_min",
        "60",
        "-level:v:0",
        "3.0",
        "-maxrate:v:0",
        "880k",
        "-preset",
        "ultrafast",
        "-profile:v",
        "high",
        "-sc_threshold",
        "0",
        "-threads",
        "0",
        "-var_stream_map",
        "v:0,name:360p",
        "/out/%v/index.m3u8",
        *TRAILER,
    ]


def test_hls_ladder_command_needs_a_rendition() -> None:
    with pytest.raises(ValueError):
        hls_ladder_command(
            Path("/in/src"), "mov", Path("/out"), [], video_stream=0, audio_stream=None,
            segment_s=4, preset="veryfast", threads=0,
        )


def test_hls_ladder_command_with_audio_needs_the_audio_stream() -> None:
    with pytest.raises(ValueError):
        hls_ladder_command(Path("/in/src"), "mov", Path("/out"), [P720], video_stream=0,
                           audio_stream=None, segment_s=4, preset="veryfast", threads=0)


def _keyframe_times(segment: Path) -> list[float]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time,flags",
            "-of",
            "csv=p=0",
            str(segment),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    packets = [line.split(",") for line in out.splitlines() if line.strip()]
    assert packets, f"no video packets in {segment}"
    assert "K" in packets[0][1], f"{segment} does not start with a keyframe: {packets[0]}"
    return [round(float(p[0]), 3) for p in packets if "K" in p[1]]


def test_ladder_encode_aligns_keyframes_across_renditions(tmp_path: Path,
                                                          encode_ladder: Encode) -> None:
    source = make_clip(tmp_path / "src.mp4", width=320, height=180, seconds=2, fps=25)
    plans = [
        Rendition(
            name="180p",
            width=320,
            height=180,
            fps=25,
            video_kbps=300,
            maxrate_kbps=330,
            bufsize_kbps=600,
            audio_kbps=64,
            level="3.0",
            bandwidth=394_000,
            codecs="avc1.64001e,mp4a.40.2",
        ),
        Rendition(
            name="90p",
            width=160,
            height=90,
            fps=25,
            video_kbps=150,
            maxrate_kbps=165,
            bufsize_kbps=300,
            audio_kbps=64,
            level="3.0",
            bandwidth=229_000,
            codecs="avc1.64001e,mp4a.40.2",
        ),
    ]
    out = encode_ladder(source, plans, video_stream=0, audio_stream=1)

    starts: dict[str, list[float]] = {}
    for plan in plans:
        segments = parse_media_segments((out / plan.name / "index.m3u8").read_text())
        assert len(segments) == 2
        starts[plan.name] = []
        for seg in segments:
            keyframes = _keyframe_times(out / plan.name / seg.uri)
            starts[plan.name].append(keyframes[0])
            assert keyframes == [keyframes[0]], "one GOP per 1 s segment"
    assert starts["180p"] == starts["90p"]
    assert starts["180p"][1] - starts["180p"][0] == pytest.approx(1.0, abs=0.002)


def test_slate_card_command_is_lavfi_only_with_drawtext_and_silence() -> None:
    from ingest.media.commands import slate_card_command

    args = slate_card_command(Path("/tmp/slate.mp4"), text="We'll be right back: soon",
                              fontfile=Path("/fonts/Sans.ttf"), seconds=8)
    assert args[:8] == ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-f", "lavfi", "-i",
                        "color=c=0x1b2a3a:s=1280x720:r=25:d=8,drawtext=fontfile=/fonts/Sans.ttf"
                        ":text='We\u2019ll be right back\\: soon':fontcolor=white:fontsize=60"
                        ":x=(w-text_w)/2:y=(h-text_h)/2"]
    assert args[8:12] == ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo"]
    plain = slate_card_command(Path("/tmp/slate.mp4"), text="x")
    assert plain[7] == "color=c=0x1b2a3a:s=1280x720:r=25:d=8"  # no font: a plain colour


def _probe_json(path: Path, *entries: str) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                          ",".join(entries), "-of", "json", str(path)],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return dict(json.loads(out))


def test_ladder_decodes_the_probed_video_not_a_cover_stored_first(
        tmp_path: Path, probe: Probe, encode_ladder: Encode) -> None:
    """The first video stream is a 4000x4000 cover: the ladder encodes the 3 s video after it."""
    source = make_cover_first_mp4(tmp_path / "cover-first.mp4", seconds=3)
    info = probe(source)
    assert info.video_stream is not None
    plans = select_renditions(info.width or 0, info.height or 0, info.fps, info.has_audio)
    out = encode_ladder(source, plans, video_stream=info.video_stream,
                        audio_stream=info.audio_stream)
    segments = parse_media_segments((out / plans[0].name / "index.m3u8").read_text())
    assert sum(s.duration for s in segments) == pytest.approx(3, abs=0.1)
    frames = sum(int(_probe_json(out / plans[0].name / s.uri, "stream=nb_read_frames")
                     ["streams"][0]["nb_read_frames"]) for s in segments)
    assert frames == 75  # 3 s x 25 fps of the real video, not one frame of the cover


def test_audio_extract_takes_one_of_two_audio_tracks(tmp_path: Path, probe: Probe) -> None:
    source = make_two_audio_tracks(tmp_path / "two-audio.mp4", seconds=3)
    info = probe(source)
    assert info.audio_stream == 1
    wav = tmp_path / "speech.wav"
    runner.run(audio_extract_command(source, "mov", info.audio_stream, wav), timeout_s=60)
    stream = _probe_json(wav, "stream=codec_name,sample_rate,channels,duration")["streams"]
    assert len(stream) == 1
    assert (stream[0]["codec_name"], stream[0]["sample_rate"], stream[0]["channels"]) == (
        "pcm_s16le", "16000", 1)
    assert float(stream[0]["duration"]) == pytest.approx(3, abs=0.1)


def test_live_ladder_reads_only_rtmp_and_picks_streams_by_type() -> None:
    plans = select_renditions(1280, 720, 25, True)
    args = live_ladder_command("rtmp://127.0.0.1:1935/live/sk-x", Path("/w"), plans,
                               segment_s=2, start_number=41, preset="veryfast", threads=2)
    head = args[:args.index("-filter_complex")]
    assert head == ["ffmpeg", "-f", "flv", "-protocol_whitelist", "rtmp,tcp",
                    "-rw_timeout", "5000000", "-i", "rtmp://127.0.0.1:1935/live/sk-x"]
    graph = args[args.index("-filter_complex") + 1]
    assert graph.startswith("[0:v:0]split=3") and "[0:a:0]aresample=48000" in graph
    assert args[args.index("-start_number") + 1] == "41"
    assert args[args.index("-hls_segment_filename") + 1] == "/w/%v/seg-%06d.ts"
    assert "program_date_time" in args[args.index("-hls_flags") + 1]
    assert args[args.index("-tune") + 1] == "zerolatency"


def test_live_ladder_writes_the_speech_audio_for_live_captions() -> None:
    plans = select_renditions(854, 480, 25, True)
    args = live_ladder_command("rtmp://127.0.0.1:1935/live/sk-x", Path("/w/run"), plans,
                               segment_s=2, start_number=0, preset="veryfast", threads=1,
                               speech_dir=Path("/w/speech-0"))
    graph = args[args.index("-filter_complex") + 1]
    assert graph.endswith(";[0:a:0]aresample=16000:async=1:first_pts=0[s13]")
    assert "[0:a:0]aresample=48000" in graph
    hls_output = args.index("/w/run/%v/index.m3u8")
    assert args[hls_output + 1:args.index("-hide_banner")] == [
        "-map", "[s13]", "-f", "segment", "-ac", "1", "-c:a", "pcm_s16le",
        "-segment_format", "s16le", "-segment_format_options", "flush_packets=1",
        "-segment_time", "30", "/w/speech-0/speech-%06d.pcm"]
    video_only = live_ladder_command("rtmp://h/live/k", Path("/w/run"),
                                     select_renditions(854, 480, 25, False), segment_s=2,
                                     start_number=0, preset="veryfast", threads=1,
                                     speech_dir=Path("/w/speech-0"))
    assert "pcm_s16le" not in video_only  # nothing to hear


def test_live_slate_reads_only_lavfi_in_real_time() -> None:
    plans = select_renditions(854, 480, 25, True)
    args = slate_live_command(Path("/w"), plans, text="Back: soon", fontfile=Path("/f.ttf"),
                              segment_s=2, start_number=7, preset="veryfast", threads=1)
    inputs = [args[i + 1] for i, a in enumerate(args) if a == "-i"]
    assert inputs[0].startswith("color=c=0x1b2a3a:s=854x480:r=25,drawtext=fontfile=/f.ttf")
    assert "text='Back\\: soon'" in inputs[0]
    assert inputs[1] == "anullsrc=r=48000:cl=stereo"
    assert args.count("-re") == 2 and args.count("lavfi") == 2


def test_a_source_without_audio_gets_a_silent_track(tmp_path: Path) -> None:
    """Every packaged asset has audio: silence (anullsrc, cut to the source's duration) takes
    the place of a missing track, so a channel never splices an audio gap."""
    args = hls_ladder_command(Path("/in/src"), "mov", Path("/out"), [P720], video_stream=0,
                              audio_stream=None, segment_s=4, preset="veryfast", threads=0,
                              silence_s=5.0)
    assert args[:11] == ["ffmpeg", "-f", "mov", "-protocol_whitelist", "file", "-i",
                         "file:/in/src", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo"]
    graph = args[args.index("-filter_complex") + 1]
    assert "[1]atrim=duration=5.000[s" in graph and "asplit=1" in graph
    assert "-c:a" in args and args[args.index("-c:a") + 1] == "aac"

    source = make_clip(tmp_path / "mute.mp4", width=160, height=90, seconds=2, audio=False)
    plan = select_renditions(160, 90, 25, has_audio=True)
    out = tmp_path / "hls"
    (out / plan[0].name).mkdir(parents=True)
    runner.run(hls_ladder_command(source, "mov", out, plan, video_stream=0, audio_stream=None,
                                  segment_s=1, preset="ultrafast", threads=1, silence_s=2.0),
               timeout_s=120)
    segments = parse_media_segments((out / plan[0].name / "index.m3u8").read_text())
    assert len(segments) == 2
    for seg in segments:
        probe = json.loads(subprocess.run(
            ["ffprobe", "-v", "error", "-show_streams", "-of", "json",
             str(out / plan[0].name / seg.uri)],
            check=True, capture_output=True, text=True, timeout=60).stdout)
        codecs = {s["codec_type"]: s["codec_name"] for s in probe["streams"]}
        assert codecs == {"video": "h264", "audio": "aac"}, seg.uri


def test_srt_relay_listens_encrypted_and_copies_to_the_rtmp_server() -> None:
    listing, preset = srt_relay_files("0.0.0.0:10001", "sk-secret-key-0123", "sk-secret-key-0123")
    assert listing == ("ffconcat version 1.0\nfile 'srt://0.0.0.0:10001?mode=listener"
                       "&passphrase=sk-secret-key-0123&pbkeylen=16&timeout=5000000'\n")
    assert preset == "rtmp_playpath=sk-secret-key-0123\n"
    args = srt_relay_command(Path("/run/r/listener.ffconcat"), Path("/run/r/publish.ffpreset"),
                             "rtmp://127.0.0.1:1935/live")
    assert args == ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-protocol_whitelist",
                    "file,srt,udp", "-format_whitelist", "concat,mpegts", "-f", "concat",
                    "-safe", "0", "-i", "file:/run/r/listener.ffconcat", "-map", "0:v:0",
                    "-map", "0:a:0?", "-c", "copy", "-f", "flv",
                    "-fpre", "/run/r/publish.ffpreset", "rtmp://127.0.0.1:1935/live"]
