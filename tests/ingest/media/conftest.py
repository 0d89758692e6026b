"""What the media tests share: probing a real file, and encoding a ladder into a folder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from ingest.media import ffmpeg as runner
from ingest.media.commands import hls_ladder_command, probe_command
from ingest.media.ladder import Rendition
from ingest.media.probe import MediaInfo, parse_probe

Probe = Callable[..., MediaInfo]
Encode = Callable[..., Path]


def probe_file(path: Path, demuxer: str = "mov", timeout_s: float = 60) -> MediaInfo:
    """ffprobe with the demuxer forced, run by the one runner, parsed."""
    result = runner.run(probe_command(path, demuxer), timeout_s=timeout_s, capture_stdout=True)
    return parse_probe(result.stdout, demuxer)


@pytest.fixture
def probe() -> Probe:
    return probe_file


@pytest.fixture
def encode_ladder(tmp_path: Path) -> Encode:
    """Encode ``plans`` of a source into `tmp_path/hls/<rendition>/` (1 s segments, ultrafast);
    returns the folder."""

    def encode(source: Path, plans: Sequence[Rendition], *, video_stream: int,
               audio_stream: int | None) -> Path:
        out = tmp_path / "hls"
        for plan in plans:
            (out / plan.name).mkdir(parents=True, exist_ok=True)
        runner.run(hls_ladder_command(source, "mov", out, plans, video_stream=video_stream,
                                      audio_stream=audio_stream, segment_s=1,
                                      preset="ultrafast", threads=1), timeout_s=120)
        return out

    return encode
