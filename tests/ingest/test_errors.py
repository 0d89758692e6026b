"""ingest.errors: what an ffmpeg failure tells the log."""

from __future__ import annotations

from ingest.errors import FfmpegFailed, FfmpegTimeout

KEY = "sk-Zq3vV8pD1wX_lQ7mN2bR9tY4uC6eH0aF"


def test_an_ffmpeg_error_keeps_its_command_but_not_the_stream_key() -> None:
    """A live worker's ffprobe reads rtmp://…/live/{key}: its error goes to the worker's log
    and the job's record, which must not hand a speaker's key to whoever reads them."""
    url = f"rtmp://127.0.0.1:1935/live/{KEY}"
    exc = FfmpegFailed("ffprobe exited with status 1", command=["ffprobe", "-i", url],
                       stderr_tail=f"{url}: Input/output error", returncode=1)
    text = str(exc)
    assert KEY not in text
    assert "ffprobe -i rtmp://127.0.0.1:1935/live/***" in text
    assert "Input/output error" in text and "status 1" in text
    assert exc.command[-1] == url  # the runner still has the real one


def test_an_srt_passphrase_is_not_logged_either() -> None:
    url = "srt://0.0.0.0:9000?mode=listener&passphrase=hunter2hunter2&pbkeylen=16"
    exc = FfmpegTimeout("ffmpeg ran longer than 5 s", command=["ffmpeg", "-i", url,
                        "-f", "flv", f"rtmp://127.0.0.1:1935/live/{KEY}"], stderr_tail="")
    text = str(exc)
    assert "hunter2" not in text and KEY not in text
    assert "passphrase=***&pbkeylen=16" in text
