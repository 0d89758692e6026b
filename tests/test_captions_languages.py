"""Captions in the audience's languages, end to end through the API, worker, Redis, S3, ffmpeg:
`language=auto` on a real recording of human speech (LibriVox, from pocketsphinx-testdata)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import upload, wait_for
from tests.support import recordings
from tests.support.speech import wer
from tests.support.wait import wait_until

pytestmark = pytest.mark.skipif(not recordings.librivox(),
                                reason="needs pocketsphinx-testdata (make system-deps)")
CLIPS = ("0880", "0930")  # 3.0 s + 3.3 s of Sense and Sensibility


@pytest.fixture(scope="module")
def reading(media_dir: Path) -> tuple[Path, str]:
    """A small MP4: a test pattern over two recorded sentences, and what is said."""
    chosen = [recordings.recording(c) for c in CLIPS]
    path = media_dir / "librivox-reading.mp4"
    if not path.exists():
        inputs = [arg for r in chosen for arg in ("-i", str(r.path))]
        subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-y", *inputs,
                        "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=7",
                        "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1,apad=whole_dur=7[a]",
                        "-map", "2:v", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast",
                        "-pix_fmt", "yuv420p", "-c:a", "aac", "-ar", "48000", "-t", "7",
                        str(path)], check=True, capture_output=True, timeout=120)
    return path, " ".join(r.reference for r in chosen)


def track_of(client: httpx.Client, asset_id: str, language: str) -> dict[str, object] | None:
    asset = client.get(f"/v1/assets/{asset_id}").json()
    return next((t for t in asset["captions"] if t["language"] == language
                 and t["status"] in ("ready", "errored")), None)


def test_auto_labels_asset_and_track_with_the_language_heard(
        client: httpx.Client, worker: Path, reading: tuple[Path, str]) -> None:
    resp = upload(client, reading[0], title="Sense and Sensibility", language="auto")
    assert resp.status_code == 202, resp.text
    assert resp.json()["language"] == "auto"
    asset_id = str(resp.json()["id"])
    try:
        assert wait_for(client, asset_id)["status"] == "ready"
        track = wait_until(lambda: track_of(client, asset_id, "en"), 120, 0.5,
                           "the detected English track")
        assert track["status"] == "ready" and track["source"] == "asr", track
        asset = client.get(f"/v1/assets/{asset_id}").json()
        assert asset["language"] == "en"
        assert [t["language"] for t in asset["captions"]] == ["en"]
        transcript = client.get(f"/v1/assets/{asset_id}/transcript").json()
        assert transcript["language"] == "en"
        assert wer(reading[1], transcript["text"]) <= 0.2, transcript["text"]
    finally:
        client.delete(f"/v1/assets/{asset_id}")


def test_auto_is_accepted_on_upload_slots_and_nonsense_is_not(client: httpx.Client) -> None:
    slot = client.post("/v1/uploads", json={"title": "Keynote", "language": "AUTO"})
    assert slot.status_code == 201, slot.text
    bad = client.post("/v1/uploads", json={"title": "Keynote", "language": "automatic"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_language"
