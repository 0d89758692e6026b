"""Captions end to end: spoken sentences at known times → upload → ASR track → HLS subtitles.

The speech is espeak-ng, placed at known offsets with silence between, under a lavfi video.
Everything goes through the real API, worker, Redis, S3 and ffmpeg.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from ingest.captions.files import Cue, parse_captions
from tests.conftest import Stack, upload, wait_for, wait_for_track
from tests.support.speech import Placed, bare, speech_clip, wer

SENTENCES = [
    ("Welcome to the annual meeting of our company.", 0.5),
    ("Today we will talk about the new product.", 4.5),
    ("Thank you all for listening to this message.", 8.5),
]
SECONDS = 12.0
MAX_WER = 0.25
"""tiny.en measured 0.04 here (one word in 24); the bound leaves room for other CPUs."""
START_SLACK_S = 0.7


@pytest.fixture(scope="module")
def spoken(media_dir: Path) -> tuple[Path, list[Placed]]:
    clip, placed = speech_clip(media_dir / "captions-speech.mp4", SENTENCES, SECONDS)
    for this, following in zip(placed, [*placed[1:], None], strict=True):
        end = following.start if following else SECONDS
        assert this.start + this.duration < end - 0.4, f"sentences overlap: {placed}"
    return clip, placed


@pytest.fixture(scope="module")
def captioned(spoken: tuple[Path, list[Placed]], worker: Path, api_server: str,
              stack: Stack) -> str:
    """The speech clip uploaded with automatic captions, ready with its track."""
    with httpx.Client(base_url=api_server, timeout=60,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as c:
        resp = upload(c, spoken[0], title="Annual meeting", language="en")
        assert resp.status_code == 202, resp.text
        asset_id = str(resp.json()["id"])
        assert wait_for(c, asset_id)["status"] == "ready"
        track = wait_for_track(c, asset_id, "en")
    assert track == {"language": "en", "source": "asr", "status": "ready", "review": "machine",
                     "error": None, "percent": None, "translation_of": None}, track
    return asset_id


def cues_of(srt: str) -> list[Cue]:
    return parse_captions(srt.encode(), 1_000_000)


def first_cue_of(cues: list[Cue], sentence: str, others: list[str]) -> Cue:
    """The earliest cue holding a word only this sentence has."""
    own = set(bare(sentence).split()) - {w for o in others for w in bare(o).split()}
    return next(c for c in cues if own & set(bare(c.text).split()))


def test_generated_track_matches_the_speech(client: httpx.Client, captioned: str,
                                            spoken: tuple[Path, list[Placed]]) -> None:
    placed = spoken[1]
    srt = client.get(f"/v1/assets/{captioned}/captions/en.srt")
    assert srt.status_code == 200 and srt.headers["content-type"].startswith("application/x-subrip")
    cues = cues_of(srt.text)
    heard = " ".join(c.text for c in cues)
    assert wer(" ".join(p.text for p in placed), heard) <= MAX_WER, heard
    for p in placed:
        cue = first_cue_of(cues, p.text, [o.text for o in placed if o is not p])
        assert abs(cue.start - p.start) <= START_SLACK_S, (p, cue)
    vtt = client.get(f"/v1/assets/{captioned}/captions/en.vtt")
    assert vtt.headers["content-type"].startswith("text/vtt") and vtt.text.startswith("WEBVTT")
    assert cues_of(vtt.text) == cues


def test_transcript_has_words_and_times(anon: httpx.Client, captioned: str) -> None:
    body = anon.get(f"/v1/assets/{captioned}/transcript").json()  # public asset: no key needed
    assert set(body) == {"language", "text", "words"} and body["language"] == "en"
    assert "product" in bare(body["text"]).split()
    words = body["words"]
    assert words and all(set(w) == {"word", "start", "end"} for w in words)
    assert all(0 <= w["start"] <= w["end"] <= SECONDS for w in words)
    assert [w["start"] for w in words] == sorted(w["start"] for w in words)


def test_multivariant_lists_the_subtitles(anon: httpx.Client, captioned: str) -> None:
    master = anon.get(f"/play/{captioned}.m3u8").text
    media = [line for line in master.splitlines() if line.startswith("#EXT-X-MEDIA:")]
    assert len(media) == 1 and "TYPE=SUBTITLES" in media[0], master
    assert 'LANGUAGE="en"' in media[0] and 'NAME="English"' in media[0]
    assert "DEFAULT=YES" in media[0] and "AUTOSELECT=YES" in media[0]
    uri = re.search(r'URI="([^"]+)"', media[0]).group(1)  # type: ignore[union-attr]
    assert uri.endswith(f"/play/{captioned}/subs-en.m3u8")
    variants = [line for line in master.splitlines() if line.startswith("#EXT-X-STREAM-INF:")]
    assert variants and all('SUBTITLES="subs"' in v for v in variants)


def test_subtitles_play_at_the_right_time(anon: httpx.Client, captioned: str,
                                          spoken: tuple[Path, list[Placed]]) -> None:
    """ffmpeg plays the subtitle track found through the multivariant playlist, over HTTP;
    its segments' X-TIMESTAMP-MAP names the first video PTS, which is what hls.js and Safari
    align cues with (ffmpeg's HLS reader ignores the map and keeps cue times as written)."""
    master_url = f"{anon.base_url}/play/{captioned}.m3u8"
    # ffmpeg 5.1 reads HLS subtitle renditions only with -strict experimental
    srt = subprocess.run(["ffmpeg", "-v", "error", "-strict", "experimental", "-i", master_url,
                          "-map", "0:s:0", "-f", "srt", "-"],
                         check=True, capture_output=True, timeout=60).stdout.decode()
    product = next(c for c in cues_of(srt) if "product" in bare(c.text).split())
    second = spoken[1][1]
    assert second.start - START_SLACK_S <= product.start <= second.start + second.duration

    master = anon.get(master_url).text
    subs_url = re.search(r'URI="([^"]+)"', master).group(1)  # type: ignore[union-attr]
    segment_url = anon.get(subs_url).text.splitlines()[-2]  # last segment, presigned
    header = httpx.get(segment_url).text.splitlines()[1]
    video_url = master.splitlines()[-1]
    first_ts = next(u for u in anon.get(video_url).text.splitlines() if u.startswith("http"))
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=start_pts", "-of", "csv=p=0", first_ts],
                           check=True, capture_output=True, text=True, timeout=60).stdout
    assert header == f"X-TIMESTAMP-MAP=MPEGTS:{int(probe.split()[0])},LOCAL:00:00:00.000"


def test_generate_runs_speech_recognition_again(client: httpx.Client, captioned: str) -> None:
    resp = client.post(f"/v1/assets/{captioned}/captions/en/generate")
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "preparing"
    again = client.post(f"/v1/assets/{captioned}/captions/en/generate")
    assert again.status_code in (202, 409)  # 409 captions_in_progress while the first runs
    track = wait_for_track(client, captioned, "en")
    assert track["status"] == "ready" and track["source"] == "asr"
    assert client.get(f"/v1/assets/{captioned}").json()["status"] == "ready"


def test_language_the_model_cannot_hear(client: httpx.Client, anon: httpx.Client,
                                        worker: Path, spoken: tuple[Path, list[Placed]]) -> None:
    """A language Whisper does not know (Klingon): the track says why it failed; the asset
    still plays."""
    resp = upload(client, spoken[0], title="Klingon", language="tlh")
    asset_id = resp.json()["id"]
    assert wait_for(client, asset_id)["status"] == "ready"
    track = wait_for_track(client, asset_id, "tlh")
    assert track["status"] == "errored", track
    error = track["error"]
    assert error["code"] == "asr_language_unsupported"  # type: ignore[index]
    assert "cannot transcribe" in error["message"] and "PODIUM_ASR_MODEL_DIR" in error["message"]  # type: ignore[index]
    assert client.get(f"/v1/assets/{asset_id}").json()["status"] == "ready"
    master = anon.get(f"/play/{asset_id}.m3u8").text
    assert "#EXT-X-MEDIA" not in master and "SUBTITLES=" not in master
    assert client.get(f"/v1/assets/{asset_id}/captions/tlh.vtt").json()["error"]["code"] == (
        "caption_not_found")



def test_a_second_audio_track_does_not_stop_captions(client: httpx.Client, worker: Path,
                                                     spoken: tuple[Path, list[Placed]]) -> None:
    """Speech on the first audio track, a tone on a second: the first one is transcribed."""
    clip = spoken[0].with_name("captions-two-audio.mp4")
    subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-y", "-i", str(spoken[0]),
                    "-f", "lavfi", "-i", f"sine=frequency=880:duration={SECONDS}",
                    "-map", "0:v", "-map", "0:a", "-map", "1:a", "-c:v", "copy",
                    "-c:a", "aac", str(clip)], check=True, capture_output=True, timeout=120)
    resp = upload(client, clip, title="Two audio tracks", language="en")
    assert resp.status_code == 202, resp.text
    asset_id = str(resp.json()["id"])
    try:
        assert wait_for(client, asset_id)["status"] == "ready"
        track = wait_for_track(client, asset_id, "en")
        assert track["status"] == "ready", track
        text = client.get(f"/v1/assets/{asset_id}/transcript").json()["text"]
        assert wer(" ".join(s for s, _ in SENTENCES), text) <= MAX_WER, text
    finally:
        client.delete(f"/v1/assets/{asset_id}")
