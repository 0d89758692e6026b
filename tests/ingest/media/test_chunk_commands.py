"""The ffmpeg argument lists of a chunked transcode, exactly."""

from __future__ import annotations

from pathlib import Path

from ingest.media.commands import audio_track_command, chunk_ladder_command, stitch_command
from ingest.media.ladder import select_renditions

PLANS = select_renditions(1280, 720, 25, True)[:2]  # 720p and 480p


def test_chunk_ladder_command_encodes_its_range_in_every_rendition() -> None:
    args = chunk_ladder_command(
        Path("/w/src"), "mov", Path("/w/video-00003.ts"), PLANS, start_s=48, duration_s=16,
        video_stream=1, segment_s=4, preset="veryfast", threads=0)
    assert args == [
        "ffmpeg", "-hide_banner", "-nostdin", "-y", "-progress", "pipe:1", "-nostats",
        "-ss", "48", "-t", "16", "-protocol_whitelist", "file", "-f", "mov", "-i", "file:/w/src",
        "-filter_complex",
        "[0:1]split=2[s0][s1];"
        "[s0]fps=25,scale=1280:720:flags=bicubic,setsar=1,format=yuv420p[v0];"
        "[s1]fps=25,scale=854:480:flags=bicubic,setsar=1,format=yuv420p[v1]",
        "-map", "[v0]", "-map", "[v1]",
        "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-g", "100",
        "-keyint_min", "100", "-sc_threshold", "0",
        "-force_key_frames", "expr:gte(t,n_forced*4)", "-threads", "0",
        "-b:v:0", "2800k", "-maxrate:v:0", "3080k", "-bufsize:v:0", "5600k", "-level:v:0", "3.1",
        "-b:v:1", "1400k", "-maxrate:v:1", "1540k", "-bufsize:v:1", "2800k", "-level:v:1", "3.0",
        "-an", "-output_ts_offset", "48", "-avoid_negative_ts", "disabled", "-muxdelay", "0.7",
        "-f", "mpegts", "/w/video-00003.ts",
    ]


def test_last_chunk_reads_to_the_end() -> None:
    args = chunk_ladder_command(
        Path("/w/src"), "mov", Path("/w/out.ts"), PLANS, start_s=64, duration_s=None,
        video_stream=0, segment_s=4, preset="veryfast", threads=0)
    assert "-t" not in args
    assert args[args.index("-ss") + 1] == "64"


def test_audio_track_command_encodes_once_into_mpegts() -> None:
    assert audio_track_command(Path("/w/src"), "mov", Path("/w/audio.ts"), audio_stream=2,
                               audio_kbps=128) == [
        "ffmpeg", "-hide_banner", "-nostdin", "-y", "-progress", "pipe:1", "-nostats",
        "-protocol_whitelist", "file", "-f", "mov", "-i", "file:/w/src",
        "-map", "0:2", "-af", "aresample=48000",
        "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-vn",
        "-avoid_negative_ts", "disabled", "-muxdelay", "0.7", "-f", "mpegts", "/w/audio.ts",
    ]
    silent = audio_track_command(Path("/w/src"), "mov", Path("/w/audio.ts"), audio_stream=None,
                                 audio_kbps=128, silence_s=61.5)
    assert silent[7:15] == ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo",
                            "-map", "0:a", "-af", "atrim=duration=61.500"]


def test_stitch_command_copies_chunks_and_audio_into_every_rendition() -> None:
    assert stitch_command(Path("/w/video.ts"), Path("/w/audio.ts"), Path("/w/hls"), PLANS,
                          segment_s=4) == [
        "ffmpeg", "-hide_banner", "-nostdin", "-y", "-progress", "pipe:1", "-nostats",
        "-copyts", "-protocol_whitelist", "file", "-f", "mpegts", "-i", "file:/w/video.ts",
        "-protocol_whitelist", "file", "-f", "mpegts", "-i", "file:/w/audio.ts",
        "-map", "0:v:0", "-map", "1:a:0", "-map", "0:v:1", "-map", "1:a:0",
        "-c", "copy", "-muxdelay", "0", "-f", "hls", "-hls_time", "4",
        "-hls_segment_type", "mpegts", "-hls_playlist_type", "event",
        "-hls_flags", "independent_segments+temp_file",
        "-hls_segment_filename", "/w/hls/%v/seg-%05d.ts",
        "-var_stream_map", "v:0,a:0,name:720p v:1,a:1,name:480p", "/w/hls/%v/index.m3u8",
    ]
