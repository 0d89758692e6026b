"""A Mandarin message end to end through the API, worker, Redis, S3 and ffmpeg: uploaded with
`language=auto`, heard as Chinese by Whisper base, captioned in simplified characters under the
Chinese cue rules, and again in traditional characters for `zh-TW`; a human English
translation of its track then plays beside it.

The speech is espeak-ng's Mandarin (`cmn-latn-pinyin`, see tests/support/speech.py): synthetic,
so the figures say that the chain works, not how well Whisper base hears people (no recording
of human Mandarin speech exists in the registries reachable here; bench/captions.py measures
what can be measured). Measured on this clip (Whisper base int8, beam 5, 2026-12-01): language
detected `zh` with probability 0.94 (`th` next, 0.04); character error rate 0.15 (6 of 40
characters: "讨论新的计划" heard as "到暖心的规划", "生成中文" as "成成中暖"). Whisper is
deterministic on one machine, so the bound below is slack for another CPU's rounding, not for
chance: 0.35 lies well above 0.15 and below what a broken chain gives on the same audio
(traditional characters for `zh`: 0.45; an English model or language: about 1.0).
"""
# ruff: noqa: RUF001  (Chinese test text: its full-width punctuation is the point)

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import jiwer
import m3u8
import opencc
import pytest

from ingest.captions.files import parse_captions
from tests.conftest import Stack, upload, wait_for, wait_for_track
from tests.support import speech

SENTENCES = (("谢谢大家，我们下午再见。", 0.5),
             ("我们明天上午九点开始讨论新的计划。", 5.5),
             ("这个系统可以自动生成中文字幕。", 12.5))
SECONDS = 19
MAX_CER = 0.35
CJK = "\u3400-\u4dbf\u4e00-\u9fff"
PUNCTUATION = "，。！？、；：,.!?;:"


def characters(text: str) -> str:
    """Letters and digits only: what a character error rate counts."""
    return "".join(ch for ch in text if ch.isalnum())


def cer(reference: str, heard: str) -> float:
    return float(jiwer.cer(characters(reference), characters(heard)))


@pytest.fixture(scope="module")
def mandarin_clip(media_dir: Path) -> Path:
    path, _placed = speech.speech_clip(media_dir / "mandarin.mp4", SENTENCES, seconds=SECONDS,
                                       voice=speech.MANDARIN_VOICE,
                                       speed=speech.MANDARIN_SPEED)
    return path


@pytest.fixture(scope="module")
def mandarin_asset(api_server: str, stack: Stack, worker: Path,
                   mandarin_clip: Path) -> Iterator[str]:
    """The clip uploaded with `language=auto`, ready with its detected track, heard without
    a glossary (the measured error rate is without one; another module's terms are put back)."""
    with httpx.Client(base_url=api_server, timeout=60,
                      headers={"Authorization": f"Bearer {stack.api_key}"}) as c:
        glossary = c.get("/v1/glossary").json()["terms"]
        assert c.put("/v1/glossary", json={"terms": []}).status_code == 200
        resp = upload(c, mandarin_clip, title="闭幕致辞", language="auto")
        assert resp.status_code == 202, resp.text
        asset_id = str(resp.json()["id"])
        assert wait_for(c, asset_id)["status"] == "ready"
        track = wait_for_track(c, asset_id, "zh", timeout_s=240)
        assert track["status"] == "ready", track
        yield asset_id
        c.delete(f"/v1/assets/{asset_id}")
        c.put("/v1/glossary", json={"terms": glossary})


def vtt_cues(client: httpx.Client, asset_id: str, language: str) -> list[str]:
    resp = client.get(f"/v1/assets/{asset_id}/captions/{language}.vtt")
    assert resp.status_code == 200, resp.text
    return [cue.text for cue in parse_captions(resp.content, 1 << 20)]


def test_mandarin_is_detected_and_captioned_in_simplified_characters(
        client: httpx.Client, anon: httpx.Client, mandarin_asset: str) -> None:
    asset = client.get(f"/v1/assets/{mandarin_asset}").json()
    assert asset["language"] == "zh"
    assert [(t["language"], t["source"]) for t in asset["captions"]] == [("zh", "asr")]
    transcript = client.get(f"/v1/assets/{mandarin_asset}/transcript").json()
    assert transcript["language"] == "zh"
    text = transcript["text"]
    reference = "".join(sentence for sentence, _start in SENTENCES)
    assert cer(reference, text) <= MAX_CER, text
    # Simplified: OpenCC would change nothing more, and the text has characters that differ
    # between the scripts (so a traditional answer could not pass).
    assert opencc.OpenCC("t2s").convert(text) == text, text
    assert opencc.OpenCC("s2t").convert(text) != text, text

    cues = vtt_cues(anon, mandarin_asset, "zh")
    assert cer(reference, "".join(cues)) <= MAX_CER, cues
    for cue in cues:
        lines = cue.split("\n")
        assert len(lines) <= 2, cues
        for line in lines:
            assert len(line) <= 16, cues  # characters, not bytes or Latin-width units
            assert line[:1] not in PUNCTUATION, cues  # punctuation never opens a line
            # no space invented between two Chinese characters (or after their punctuation)
            assert not re.search(f"[{CJK}，。！？、；：]\\s+[{CJK}]", line), cues
            # Chinese punctuation after Chinese characters (Whisper base writes ASCII marks)
            assert not re.search(f"[{CJK}][,.!?;:]", line), cues

    master = m3u8.loads(anon.get(f"/play/{mandarin_asset}.m3u8").text)
    media = [(m.language, m.name) for m in master.media if m.type == "SUBTITLES"]
    assert media == [("zh", "中文")]


def test_zh_tw_gets_the_same_words_in_traditional_characters(
        client: httpx.Client, anon: httpx.Client, mandarin_asset: str) -> None:
    resp = client.post(f"/v1/assets/{mandarin_asset}/captions/zh-TW/generate")
    assert resp.status_code == 202, resp.text
    track = wait_for_track(client, mandarin_asset, "zh-TW", timeout_s=240)
    assert track["status"] == "ready" and track["source"] == "asr", track
    simplified = vtt_cues(anon, mandarin_asset, "zh")
    traditional = vtt_cues(anon, mandarin_asset, "zh-TW")
    # The same recognition (Whisper decodes `zh` either way) in Taiwan's script, cue by cue
    to_taiwan = opencc.OpenCC("s2tw")
    assert traditional == [to_taiwan.convert(cue) for cue in simplified]
    assert traditional != simplified
    master = m3u8.loads(anon.get(f"/play/{mandarin_asset}.m3u8").text)
    assert sorted(m.language for m in master.media if m.type == "SUBTITLES") == ["zh", "zh-TW"]


def test_an_english_translation_plays_beside_the_chinese_track(
        client: httpx.Client, anon: httpx.Client, mandarin_asset: str) -> None:
    template = client.get(f"/v1/assets/{mandarin_asset}/captions/zh/template?format=json")
    assert template.status_code == 200, template.text
    data = template.json()
    assert data["source_language"] == "zh"
    times = [(c["start"], c["end"]) for c in data["cues"]]
    for n, cue in enumerate(data["cues"], start=1):
        cue["text"] = f"Line {n} of the closing remarks."
    put = client.put(f"/v1/assets/{mandarin_asset}/captions/en?translation_of=zh",
                     content=json.dumps(data).encode())
    assert put.status_code == 200, put.text
    assert put.json()["translation_of"] == "zh"
    english = client.get(f"/v1/assets/{mandarin_asset}/captions/en").json()
    assert [(c["start"], c["end"]) for c in english["cues"]] == times
    master = m3u8.loads(anon.get(f"/play/{mandarin_asset}.m3u8").text)
    media = {m.language: m for m in master.media if m.type == "SUBTITLES"}
    assert media["en"].name == "English" and media["zh"].name == "中文", media
    rendition = anon.get(anon.base_url.join(f"/play/{mandarin_asset}.m3u8").join(media["en"].uri))
    assert rendition.status_code == 200, rendition.text
