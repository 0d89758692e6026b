"""Pure builders of ffprobe/ffmpeg argument lists. The only module that imports ffmpeg-python.

Every input is opened with its demuxer forced (see ingest.media.probe.sniff_demuxer) and
``-protocol_whitelist file``, so no playlist/concat demuxer runs and no URL can be followed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import ffmpeg  # ffmpeg-python: unmaintained, so it stays behind this module's functions

from ingest.media.ladder import Rendition

AUDIO_RATE = 48_000
SEGMENT_PATTERN = "seg-%05d.ts"


def _input_args(path: Path, demuxer: str) -> dict[str, str]:
    return {"f": demuxer, "protocol_whitelist": "file"}


def probe_command(path: Path, demuxer: str) -> list[str]:
    """ffprobe that reads only ``path`` with the sniffed demuxer and prints JSON.

    ``-count_packets`` demuxes the whole file (no decoding) and reports ``nb_read_packets`` per
    stream: what the file really holds, against what its headers claim (probe.check_plausible).
    """
    return [
        "ffprobe", "-hide_banner", "-v", "error",
        "-protocol_whitelist", "file", "-f", demuxer,
        "-count_packets",
        "-print_format", "json", "-show_format", "-show_streams",
        f"file:{path}",
    ]


def start_pts_command(segment: Path) -> list[str]:
    """ffprobe of a packaged MPEG-TS segment: the first video PTS (90 kHz) and time base, as JSON.

    The PTS is what WebVTT segments must name in X-TIMESTAMP-MAP (RFC 8216 section 3.5).
    """
    return [
        "ffprobe", "-hide_banner", "-v", "error",
        "-protocol_whitelist", "file", "-f", "mpegts",
        "-select_streams", "v:0", "-show_entries", "stream=start_pts,start_time,time_base",
        "-print_format", "json",
        f"file:{segment}",
    ]


def list_encoders_command() -> list[str]:
    """ffmpeg's list of the encoders it was built with (ingest.media.encoders parses it)."""
    return ["ffmpeg", "-hide_banner", "-nostdin", "-encoders"]


def encoder_test_command(encoder: str, device_args: Sequence[str] = (),
                         upload_filter: str | None = None) -> list[str]:
    """A tenth of a second of a small test pattern through ``encoder``, to nowhere: proves a
    (hardware) encoder listed by ffmpeg really works on this machine."""
    chain = "format=yuv420p" + (f",{upload_filter}" if upload_filter else "")
    return ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", *device_args,
            "-f", "lavfi", "-i", "testsrc2=size=256x144:rate=25:duration=0.2",
            "-vf", chain, "-c:v", encoder, "-f", "null", "-"]


def _video_codec_options(encoder: str, preset: str, gop: int, segment_s: int,
                         threads: int) -> dict[str, object]:
    """The encoder's own options for the ladder: a keyframe (IDR) at every segment boundary and
    no scene-cut keyframes, whatever the encoder. libx264 is the reference; the hardware
    encoders get their equivalents (their presets are their own: the default of each)."""
    common: dict[str, object] = {
        "c:v": encoder, "profile:v": "high", "g": gop,
        "force_key_frames": f"expr:gte(t,n_forced*{segment_s})",
    }
    if encoder == "h264_nvenc":
        return {**common, "no-scenecut": 1, "forced-idr": 1}
    if encoder == "h264_qsv":
        return {**common, "forced_idr": 1}
    if encoder == "h264_vaapi":
        return common
    return {"c:v": encoder, "preset": preset, "profile:v": "high",
            "g": gop, "keyint_min": gop, "sc_threshold": 0,
            "force_key_frames": common["force_key_frames"], "threads": threads}


def hls_ladder_command(
    source: Path, demuxer: str, out_dir: Path, plans: Sequence[Rendition], *,
    video_stream: int, audio_stream: int | None, segment_s: int, preset: str, threads: int,
    silence_s: float | None = None, encoder: str = "libx264",
    device_args: Sequence[str] = (), upload_filter: str | None = None,
) -> list[str]:
    """One ffmpeg that decodes once and encodes every rendition into HLS (MPEG-TS segments).

    Only the streams the probe chose and validated are decoded (``[0:<index>]``): ``[0:v]``
    would take the first video stream, which may be a cover picture stored before the video.
    Keyframes are forced every ``segment_s`` seconds in every rendition (and scene-cut keyframes
    are off) so segments align across renditions and players can switch at any boundary.

    A source without audio gets ``silence_s`` seconds of generated silence (lavfi `anullsrc`)
    as its AAC track, so every packaged asset has audio: a channel splicing it between items
    with sound never leaves players an audio gap, and nothing is re-encoded to get there.

    ``encoder`` is libx264 or a hardware H.264 encoder (ingest.media.encoders): only its own
    options change, plus, for VAAPI, the device (``device_args``) and an ``upload_filter`` at
    the end of each rendition's chain.
    """
    if not plans:
        raise ValueError("at least one rendition is needed")
    has_audio = plans[0].audio_kbps is not None
    if has_audio and audio_stream is None and not silence_s:
        raise ValueError("renditions with audio need the audio stream's index or silence_s")
    inp = ffmpeg.input(f"file:{source}", **_input_args(source, demuxer))
    audio = None
    if has_audio:
        audio = inp[str(audio_stream)] if audio_stream is not None else ffmpeg.input(
            f"anullsrc=r={AUDIO_RATE}:cl=stereo", f="lavfi").filter(
                "atrim", duration=f"{silence_s:.3f}")
    # EVENT: ffmpeg rewrites each media playlist as every segment completes (VOD would write
    # it only at the end), so the asset can play while it is still encoding.
    return _ladder(inp[str(video_stream)], audio, out_dir, plans, segment_s, preset, threads, {
        "hls_playlist_type": "event", "hls_flags": "independent_segments+temp_file"},
        encoder=encoder, upload_filter=upload_filter, device_args=device_args)


LIVE_PROTOCOLS = "rtmp,tcp"
"""The only protocols a live input may use: the worker plays the stream back from nginx-rtmp."""
LIVE_SEGMENT_PATTERN = "seg-%06d.ts"
LIVE_READ_TIMEOUT_US = 5_000_000
"""A live input silent this long ends the run (a publisher that stalls)."""


def live_probe_command(url: str) -> list[str]:
    """ffprobe of a live RTMP stream (FLV forced, RTMP/TCP only): its streams as JSON."""
    return [
        "ffprobe", "-hide_banner", "-v", "error",
        "-protocol_whitelist", LIVE_PROTOCOLS, "-f", "flv",
        "-rw_timeout", str(LIVE_READ_TIMEOUT_US), "-analyzeduration", "1000000",
        "-probesize", "500000",
        "-print_format", "json", "-show_streams", url,
    ]


def live_ladder_command(
    url: str, out_dir: Path, plans: Sequence[Rendition], *, segment_s: int, start_number: int,
    preset: str, threads: int, speech_dir: Path | None = None,
) -> list[str]:
    """The ladder of a live RTMP input, in real time: segments numbered from
    ``start_number`` (the stream's media sequence goes on across sessions), each rendition's
    playlist a short sliding window with EXT-X-PROGRAM-DATE-TIME (wall clock of each segment).

    Streams are chosen by type (`v:0`, `a:0`), not index: an FLV stream played back from the
    RTMP server numbers its streams in the order their first packets arrive, which changes
    from one connection to the next.

    With ``speech_dir`` (and audio), the same run also writes the audio as speech recognition
    hears it (`live_speech_output`), decoded once with the ladder's."""
    inp = ffmpeg.input(url, f="flv", protocol_whitelist=LIVE_PROTOCOLS,
                       rw_timeout=LIVE_READ_TIMEOUT_US)
    audio = inp["a:0"] if plans[0].audio_kbps is not None else None
    side = [live_speech_output(audio, speech_dir)] if audio is not None and speech_dir else []
    return _ladder(inp["v:0"], audio, out_dir, plans, segment_s, preset, threads,
                   _live_options(start_number), side_outputs=side)


SPEECH_RATE = 16_000
SPEECH_CHUNK_S = 30
SPEECH_CHUNK_PATTERN = "speech-%06d.pcm"


def live_speech_output(audio: ffmpeg.nodes.FilterableStream,
                       speech_dir: Path) -> ffmpeg.nodes.OutputStream:
    """Raw 16 kHz mono s16le PCM of a live run's audio, in files of SPEECH_CHUNK_S seconds
    (the reader deletes each once read, so a long stream leaves no hours of audio on disk).

    `aresample=async=1:first_pts=0` makes sample n the run's output time n / 16000 s: silence
    is put where the audio starts late or has a gap, so sample positions stay on the clock the
    video segments' timestamps come from (https://ffmpeg.org/ffmpeg-filters.html#aresample-1).
    The files' own muxer gets `flush_packets=1`: it hands each packet to the file at once
    (by default it writes 256 KB, eight seconds of speech, at a time)."""
    speech = audio.filter("aresample", SPEECH_RATE, **{"async": 1, "first_pts": 0})
    return ffmpeg.output(speech, str(speech_dir / SPEECH_CHUNK_PATTERN), ac=1,
                         **{"c:a": "pcm_s16le", "f": "segment", "segment_time": SPEECH_CHUNK_S,
                            "segment_format": "s16le",
                            "segment_format_options": "flush_packets=1"})


def slate_live_command(
    out_dir: Path, plans: Sequence[Rendition], *, text: str, fontfile: Path | None,
    segment_s: int, start_number: int, preset: str, threads: int,
) -> list[str]:
    """The "be right back" card in every rendition, made in real time (``-re``) into the same
    numbering as ``live_ladder_command``: what viewers see while the speaker is away. Only
    lavfi sources are read; it runs until stopped."""
    top = max(plans, key=lambda p: p.height)
    video = f"color=c=0x1b2a3a:s={top.width}x{top.height}:r={top.fps:g}"
    if fontfile is not None:
        safe = text.replace("\\", "").replace("'", "\u2019").replace(":", "\\:")
        video += (f",drawtext=fontfile={fontfile}:text='{safe}':fontcolor=white"
                  f":fontsize={max(12, top.height // 12)}:x=(w-text_w)/2:y=(h-text_h)/2")
    v = ffmpeg.input(video, f="lavfi", re=None)
    audio = None
    if plans[0].audio_kbps is not None:
        audio = ffmpeg.input(f"anullsrc=r={AUDIO_RATE}:cl=stereo", f="lavfi", re=None)["a"]
    return _ladder(v["v"], audio, out_dir, plans, segment_s, preset, threads,
                   _live_options(start_number))


SRT_PROTOCOLS = "file,srt,udp"
"""The SRT relay reads its list file, then SRT over UDP."""


def srt_relay_files(listen: str, passphrase: str, stream_name: str) -> tuple[str, str]:
    """The two files ``srt_relay_command`` reads its secrets from (the command line of every
    process is readable by any user of the host, `ps`): an ffconcat list naming the SRT
    listener's URL with its passphrase, and a preset (`-fpre`) naming the RTMP stream it
    publishes (the key, which on_publish checks). ffmpeg 5.1 takes neither a URL nor an input
    option from a file any other way (`-fpre` holds output options only)."""
    url = f"srt://{listen}?mode=listener&passphrase={passphrase}&pbkeylen=16&timeout=5000000"
    return f"ffconcat version 1.0\nfile '{url}'\n", f"rtmp_playpath={stream_name}\n"


def srt_relay_command(list_file: Path, preset_file: Path, rtmp_app_url: str) -> list[str]:
    """An SRT listener (the URL in ``list_file``, encrypted with the stream's passphrase) whose
    MPEG-TS is copied to the RTMP server as FLV: an SRT speaker enters the same path as an
    RTMP one (on_publish checks the key). One publisher, then it exits (a stalled one after
    5 s); the supervisor starts it again for the next.

    The concat demuxer opens the listener named in the list (`-safe 0`: it is a URL) and the
    whitelists carry over to it: nothing but SRT over UDP, nothing but MPEG-TS inside;
    ``rtmp_app_url`` names no stream (`rtmp://host:port/live`), the preset does.
    https://ffmpeg.org/ffmpeg-formats.html#concat-1"""
    return ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-protocol_whitelist", SRT_PROTOCOLS,
            "-format_whitelist", "concat,mpegts", "-f", "concat", "-safe", "0",
            "-i", f"file:{list_file}", "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy",
            "-f", "flv", "-fpre", str(preset_file), rtmp_app_url]


def concat_segments_command(list_file: Path, out: Path) -> list[str]:
    """MPEG-TS segments named in ``list_file`` (an ffconcat list this process wrote, of files
    in its own folder) copied into one MP4: a live stream's recording. `-safe 1` and the file
    protocol only: the list can name nothing outside its folder."""
    return ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-protocol_whitelist", "file",
            "-f", "concat", "-safe", "1", "-i", f"file:{list_file}",
            "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", "-bsf:a", "aac_adtstoasc",
            "-movflags", "+faststart", f"file:{out}"]


def _live_options(start_number: int) -> dict[str, object]:
    return {"tune": "zerolatency", "hls_list_size": 6, "start_number": start_number,
            "hls_flags": "independent_segments+temp_file+program_date_time",
            "hls_segment_filename_pattern": LIVE_SEGMENT_PATTERN}


def _ladder(video: ffmpeg.nodes.FilterableStream, audio: ffmpeg.nodes.FilterableStream | None,
            out_dir: Path, plans: Sequence[Rendition], segment_s: int, preset: str,
            threads: int, extra: dict[str, object], *, encoder: str = "libx264",
            upload_filter: str | None = None, device_args: Sequence[str] = (),
            side_outputs: Sequence[ffmpeg.nodes.OutputStream] = ()) -> list[str]:
    """Split ``video`` (and ``audio``) into every rendition of ``plans``, one HLS output."""
    if not plans:
        raise ValueError("at least one rendition is needed")
    videos = video.filter_multi_output("split", len(plans))
    audios = audio.filter("aresample", AUDIO_RATE).filter_multi_output(
        "asplit", len(plans)) if audio is not None else None
    streams = []
    stream_map = []
    for i, plan in enumerate(plans):
        v = (videos[i].filter("fps", fps=_fps_arg(plan.fps))
             .filter("scale", plan.width, plan.height, flags="bicubic")
             .filter("setsar", "1").filter("format", "yuv420p"))
        if upload_filter:
            for name, _, arg in (f.partition("=") for f in upload_filter.split(",")):
                v = v.filter(name, arg) if arg else v.filter(name)
        streams.append(v)
        if audios is not None:
            streams.append(audios[i])
            stream_map.append(f"v:{i},a:{i},name:{plan.name}")
        else:
            stream_map.append(f"v:{i},name:{plan.name}")
    options = dict(extra)
    pattern = str(options.pop("hls_segment_filename_pattern", SEGMENT_PATTERN))
    gop = max(1, round(plans[-1].fps * segment_s))
    kwargs: dict[str, object] = {
        **_video_codec_options(encoder, preset, gop, segment_s, threads),
        "f": "hls", "hls_time": segment_s,
        "hls_segment_type": "mpegts",
        "hls_segment_filename": str(out_dir / "%v" / pattern),
        "var_stream_map": " ".join(stream_map),
        **options,
    }
    for i, plan in enumerate(plans):
        kwargs[f"b:v:{i}"] = f"{plan.video_kbps}k"
        kwargs[f"maxrate:v:{i}"] = f"{plan.maxrate_kbps}k"
        kwargs[f"bufsize:v:{i}"] = f"{plan.bufsize_kbps}k"
        kwargs[f"level:v:{i}"] = plan.level
    if audios is not None:
        kwargs.update({"c:a": "aac", "b:a": f"{plans[0].audio_kbps}k", "ac": 2})
    out = ffmpeg.output(*streams, str(out_dir / "%v" / "index.m3u8"), **kwargs)
    if side_outputs:
        out = ffmpeg.merge_outputs(out, *side_outputs)
    args: list[str] = out.global_args(
        "-hide_banner", "-nostdin", "-y", "-progress", "pipe:1", "-nostats",
    ).compile(cmd="ffmpeg")
    if device_args:  # global options that must come before the input
        args[1:1] = list(device_args)
    return args


POSTER_WIDTH = 320


def poster_command(segment: Path, out_jpeg: Path, offset_s: float,
                   width: int = POSTER_WIDTH) -> list[str]:
    """One JPEG frame ``offset_s`` into a packaged MPEG-TS segment, ``width`` pixels wide.

    ``-ss`` after the input decodes up to the time: a segment lasts a few seconds, so that is
    cheap, and an input seek inside a segment cut by the HLS muxer can land past every frame
    (no output at all, exit status 0).
    """
    return ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y",
            "-protocol_whitelist", "file", "-f", "mpegts", "-i", f"file:{segment}",
            "-ss", f"{max(0.0, offset_s):.3f}", "-map", "0:v:0", "-frames:v", "1",
            "-vf", f"scale={width}:-2", "-c:v", "mjpeg", "-q:v", "5",
            "-f", "image2", "-update", "1", str(out_jpeg)]


def audio_extract_command(source: Path, demuxer: str, audio_stream: int,
                          out_wav: Path) -> list[str]:
    """16 kHz mono PCM WAV of the audio stream the probe chose: the input of speech recognition.

    Exactly one stream (``-map 0:<index>``): mapping every audio track (``0:a``) asks the WAV
    muxer for several streams, which it refuses.
    """
    inp = ffmpeg.input(f"file:{source}", **_input_args(source, demuxer))
    out = ffmpeg.output(inp[str(audio_stream)], str(out_wav), ac=1, ar=16000,
                        **{"c:a": "pcm_s16le", "f": "wav"})
    args: list[str] = out.global_args(
        "-hide_banner", "-nostdin", "-y", "-progress", "pipe:1", "-nostats",
    ).compile(cmd="ffmpeg")
    return args


def _fps_arg(fps: float) -> str:
    """Exact NTSC rates as fractions, so 29.97 stays 30000/1001 rather than drifting."""
    for num in (24, 30, 60):
        if abs(fps - num * 1000 / 1001) < 0.01:
            return f"{num * 1000}/1001"
    return f"{fps:g}"


SLATE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def slate_card_command(out: Path, *, text: str, width: int = 1280, height: int = 720,
                       seconds: float = 8.0, fps: int = 25,
                       fontfile: Path | None = None) -> list[str]:
    """A still card with ``text`` centred (drawtext, when a font is given) over a plain colour,
    with silent stereo AAC: the generated slate. Only lavfi sources are read."""
    video = f"color=c=0x1b2a3a:s={width}x{height}:r={fps}:d={seconds:g}"
    if fontfile is not None:
        safe = text.replace("\\", "").replace("'", "\u2019").replace(":", "\\:")
        video += (f",drawtext=fontfile={fontfile}:text='{safe}':fontcolor=white"
                  f":fontsize={height // 12}:x=(w-text_w)/2:y=(h-text_h)/2")
    return ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-f", "lavfi", "-i", video,
            "-f", "lavfi", "-i", f"anullsrc=r={AUDIO_RATE}:cl=stereo",
            "-t", f"{seconds:g}", "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage",
            "-pix_fmt", "yuv420p", "-g", str(fps), "-c:a", "aac", "-b:a", "64k", "-shortest",
            "-movflags", "+faststart", str(out)]


def complexity_probe_command(
    source: Path, demuxer: str, out_dir: Path, plans: Sequence[Rendition],
    windows: Sequence[tuple[float, float]], *, video_stream: int, crf: float, preset: str,
    segment_s: int, threads: int,
) -> list[str]:
    """Constant-quality (CRF) encodes of a few windows of the source, every rendition at its
    size, in one ffmpeg: the per-title analysis (ingest.media.pertitle). Each rendition's raw
    H.264 goes to ``out_dir/<name>.h264``, whose size is the bit rate that quality needs.

    Each window is its own input, seeked before decoding (``-ss`` before ``-i``), and the
    windows are joined by the concat filter. Keyframes are forced as in the ladder, so a
    window of ``segment_s`` costs what a segment costs.
    """
    if not plans or not windows:
        raise ValueError("at least one rendition and one window are needed")
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-nostats"]
    for start, length in windows:
        args += ["-ss", f"{start:g}", "-t", f"{length:g}",
                 "-protocol_whitelist", "file", "-f", demuxer, "-i", f"file:{source}"]
    joined = "".join(f"[{i}:{video_stream}]" for i in range(len(windows)))
    graph = [f"{joined}concat=n={len(windows)}:v=1:a=0,split={len(plans)}"
             + "".join(f"[s{i}]" for i in range(len(plans)))]
    for i, plan in enumerate(plans):
        graph.append(f"[s{i}]fps={_fps_arg(plan.fps)},scale={plan.width}:{plan.height}"
                     f":flags=bicubic,setsar=1,format=yuv420p[v{i}]")
    args += ["-filter_complex", ";".join(graph)]
    for i, plan in enumerate(plans):
        gop = max(1, round(plan.fps * segment_s))
        args += ["-map", f"[v{i}]", "-c:v", "libx264", "-preset", preset, "-crf", f"{crf:g}",
                 "-profile:v", "high", "-g", str(gop), "-keyint_min", str(gop),
                 "-sc_threshold", "0", "-force_key_frames", f"expr:gte(t,n_forced*{segment_s})",
                 "-threads", str(threads), "-an", "-f", "h264", str(out_dir / f"{plan.name}.h264")]
    return args


CHUNK_MUX_DELAY_S = 0.7
"""The MPEG-TS muxer delay of video chunks and the audio track (timestamps start 2 x this
late, ffmpeg's default): the same for every piece, so their timestamps line up as they would
have in one pass, and the stitch copies them unchanged (-copyts, no delay of its own)."""


def _codec_args(options: dict[str, object]) -> list[str]:
    return [arg for key, value in options.items() for arg in (f"-{key}", str(value))]


def chunk_ladder_command(
    source: Path, demuxer: str, out: Path, plans: Sequence[Rendition], *, start_s: float,
    duration_s: float | None, video_stream: int, segment_s: int, preset: str, threads: int,
    encoder: str = "libx264", device_args: Sequence[str] = (), upload_filter: str | None = None,
) -> list[str]:
    """One chunk of the video (``duration_s`` from ``start_s``, a segment boundary; None: to
    the end) in every rendition, video only, into one MPEG-TS file with one stream per
    rendition.

    ``-ss``/``-t`` before the input decode only that range: ffmpeg seeks to the keyframe
    before it and drops the frames outside it (accurate seek), so the chunks partition the
    frames. The filters and the encoder's options are the one-pass ladder's, so the chunk
    starts with an IDR frame (x264 GOPs are closed) and has one at every segment boundary.
    ``-output_ts_offset`` puts the chunk at its place on the source's timeline and
    ``-avoid_negative_ts disabled`` stops ffmpeg from shifting the first chunk alone (its
    B-frame DTS are below zero before the muxer's delay): the chunks join without a gap
    (https://ffmpeg.org/ffmpeg-formats.html#Format-Options)."""
    if not plans:
        raise ValueError("at least one rendition is needed")
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-progress", "pipe:1", "-nostats",
            *device_args, "-ss", f"{start_s:g}",
            *(["-t", f"{duration_s:g}"] if duration_s is not None else []),
            "-protocol_whitelist", "file", "-f", demuxer, "-i", f"file:{source}"]
    graph = [f"[0:{video_stream}]split={len(plans)}"
             + "".join(f"[s{i}]" for i in range(len(plans)))]
    for i, plan in enumerate(plans):
        chain = (f"[s{i}]fps={_fps_arg(plan.fps)},scale={plan.width}:{plan.height}"
                 f":flags=bicubic,setsar=1,format=yuv420p")
        graph.append(chain + (f",{upload_filter}" if upload_filter else "") + f"[v{i}]")
    args += ["-filter_complex", ";".join(graph)]
    for i in range(len(plans)):
        args += ["-map", f"[v{i}]"]
    gop = max(1, round(plans[-1].fps * segment_s))
    args += _codec_args(_video_codec_options(encoder, preset, gop, segment_s, threads))
    for i, plan in enumerate(plans):
        args += [f"-b:v:{i}", f"{plan.video_kbps}k", f"-maxrate:v:{i}", f"{plan.maxrate_kbps}k",
                 f"-bufsize:v:{i}", f"{plan.bufsize_kbps}k", f"-level:v:{i}", plan.level]
    return [*args, "-an", "-output_ts_offset", f"{start_s:g}", "-avoid_negative_ts",
            "disabled", "-muxdelay", f"{CHUNK_MUX_DELAY_S:g}", "-f", "mpegts", str(out)]


def audio_track_command(source: Path, demuxer: str, out: Path, *, audio_stream: int | None,
                        audio_kbps: int, silence_s: float | None = None) -> list[str]:
    """The audio of a chunked transcode, encoded once in one piece (AAC into MPEG-TS, as the
    one-pass ladder encodes it): AAC encoded per chunk would restart its priming at every
    join and leave a gap there. A source without audio gets ``silence_s`` of silence."""
    if audio_stream is None and not silence_s:
        raise ValueError("the audio stream's index or silence_s is needed")
    if audio_stream is not None:
        args = ["-protocol_whitelist", "file", "-f", demuxer, "-i", f"file:{source}",
                "-map", f"0:{audio_stream}", "-af", f"aresample={AUDIO_RATE}"]
    else:
        args = ["-f", "lavfi", "-i", f"anullsrc=r={AUDIO_RATE}:cl=stereo",
                "-map", "0:a", "-af", f"atrim=duration={silence_s:.3f}"]
    return ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-progress", "pipe:1", "-nostats",
            *args, "-c:a", "aac", "-b:a", f"{audio_kbps}k", "-ac", "2", "-vn",
            "-avoid_negative_ts", "disabled", "-muxdelay", f"{CHUNK_MUX_DELAY_S:g}",
            "-f", "mpegts", str(out)]


def stitch_command(video: Path, audio: Path, out_dir: Path, plans: Sequence[Rendition], *,
                   segment_s: int) -> list[str]:
    """The stitch of a chunked transcode: the chunks (joined byte by byte into ``video``, one
    stream per rendition) and the audio track copied into each rendition's HLS segments,
    nothing re-encoded. ``-copyts`` keeps the timestamps the pieces were made with and
    ``-muxdelay 0`` adds no second delay, so they match the one-pass ladder's; keyframes sit
    on every segment boundary, so the HLS muxer cuts there in every rendition."""
    if not plans:
        raise ValueError("at least one rendition is needed")
    args = ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-progress", "pipe:1", "-nostats",
            "-copyts", "-protocol_whitelist", "file", "-f", "mpegts", "-i", f"file:{video}",
            "-protocol_whitelist", "file", "-f", "mpegts", "-i", f"file:{audio}"]
    for i in range(len(plans)):
        args += ["-map", f"0:v:{i}", "-map", "1:a:0"]
    stream_map = " ".join(f"v:{i},a:{i},name:{plan.name}" for i, plan in enumerate(plans))
    return [*args, "-c", "copy", "-muxdelay", "0", "-f", "hls", "-hls_time", str(segment_s),
            "-hls_segment_type", "mpegts", "-hls_playlist_type", "event",
            "-hls_flags", "independent_segments+temp_file",
            "-hls_segment_filename", str(out_dir / "%v" / SEGMENT_PATTERN),
            "-var_stream_map", stream_map, str(out_dir / "%v" / "index.m3u8")]
