"""Per-title bit rates through the real jobs: a still source gets a cheaper ladder than the fixed
one, recorded once, and it still publishes a valid ladder."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import get_settings
from ingest.assets.models import AssetStatus
from ingest.assets.store import AssetStore
from ingest.hls.playlists import parse_media_segments
from ingest.media.ladder import select_renditions
from ingest.storage import keys
from tests.workers.test_media_jobs import new_asset, own_prefix, store  # noqa: F401 (fixtures)
from workers import probe as probe_job
from workers import publish as publish_job
from workers import stages
from workers import transcode as transcode_job


@pytest.fixture
def per_title() -> Iterator[None]:
    settings = get_settings()
    saved = (settings.per_title_bitrates, settings.per_title_min_duration_s)
    settings.per_title_bitrates, settings.per_title_min_duration_s = True, 0.0
    yield
    settings.per_title_bitrates, settings.per_title_min_duration_s = saved


def _speaker_at_a_wall(path: Path) -> Path:
    """A still picture with a tone: the easiest content there is (two short rungs)."""
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "smptebars=size=854x480:rate=25:duration=2",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "64k", str(path)], check=True, timeout=120)
    return path


@pytest.mark.usefixtures("per_title")
def test_still_source_gets_cheaper_rungs_and_a_valid_ladder(
        store: AssetStore, tmp_path: Path) -> None:  # noqa: F811
    asset = new_asset(store, _speaker_at_a_wall(tmp_path / "wall.mp4"))
    assert probe_job.probe_asset(asset.id) == "probed"
    assert transcode_job.transcode_asset(asset.id) == "transcoded"

    fixed = {p.name: p.video_kbps for p in select_renditions(854, 480, 25, True)}
    chosen = store.get(asset.id).video_kbps
    assert chosen is not None and chosen.keys() == fixed.keys() == {"480p", "360p"}
    assert all(chosen[name] < fixed[name] for name in fixed)

    # publishing (and a retried transcode) plan from the recorded rates, not a new analysis
    assert {p.name: p.video_kbps for p in stages.plans_for(store.get(asset.id))} == chosen
    assert publish_job.publish_asset(asset.id) == "ready"
    ready = store.get(asset.id)
    assert ready.status == AssetStatus.READY
    assert {r.name: r.video_kbps for r in ready.renditions} == chosen
    for r in ready.renditions:
        assert r.maxrate_kbps == int(chosen[r.name] * 1.1)
        playlist = store.storage.get_bytes(keys.hls_object(asset.id, f"{r.name}/index.m3u8"))
        assert sum(s.duration for s in parse_media_segments(playlist.decode())) == (
            pytest.approx(2.0, abs=0.1))
        assert r.bandwidth < (fixed[r.name] + 64) * 1000  # measured peak under the fixed rate
