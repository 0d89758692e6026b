"""The model per language, the multilingual model joined from its two packages, and both
models on a real recording of human speech (LibriVox, from pocketsphinx-testdata)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from ingest.captions import speech_models
from ingest.captions.asr import AsrError, WhisperRecognizer
from ingest.captions.building import build_cues
from ingest.captions.speech_models import BASE_SHA256, SpeechModels, join_model
from tests.support import recordings, speech

needs_recordings = pytest.mark.skipif(
    not recordings.librivox(), reason="needs pocketsphinx-testdata (make system-deps)")


def small_model(folder: Path) -> tuple[list[Path], str]:
    folder.mkdir()
    for name in speech_models.BASE_SMALL_FILES:
        (folder / name).write_text("{}")
    halves = [folder / "model.bin.part1", folder / "model.bin.part2"]
    halves[0].write_bytes(b"first half ")
    halves[1].write_bytes(b"second half")
    return halves, hashlib.sha256(b"first half second half").hexdigest()


def test_halves_are_joined_once_and_checked(tmp_path: Path) -> None:
    halves, sha = small_model(tmp_path / "pkg")
    target = join_model(halves, tmp_path / "pkg", tmp_path / "var" / "m", sha)
    assert (target / "model.bin").read_bytes() == b"first half second half"
    assert all((target / n).is_file() for n in speech_models.BASE_SMALL_FILES)
    halves[1].write_bytes(b"changed")  # joined already: the packages are not read again
    assert join_model(halves, tmp_path / "pkg", target, sha) == target


def test_halves_that_do_not_match_the_pin_are_refused(tmp_path: Path) -> None:
    halves, _sha = small_model(tmp_path / "pkg")
    with pytest.raises(AsrError) as caught:
        join_model(halves, tmp_path / "pkg", tmp_path / "m", BASE_SHA256)
    assert caught.value.code == "asr_model_corrupt"
    assert not (tmp_path / "m" / "model.bin").exists()
    assert not (tmp_path / "m" / "model.bin.partial").exists()


def test_installed_packages_join_into_the_pinned_base_model(tmp_path: Path) -> None:
    target = speech_models.prepare_base_model(tmp_path)
    assert target == tmp_path / "models" / "whisper-base"
    assert (target / "model.bin").stat().st_size == 145_217_532
    recognizer = SpeechModels(tmp_path).for_language("zh-CN")
    assert recognizer.name == "faster-whisper:base"
    assert recognizer.is_multilingual() and recognizer.supports_language("zh-TW")


def test_a_model_per_language(tmp_path: Path) -> None:
    models = SpeechModels(tmp_path, per_language={"zh-TW": tmp_path / "tw", "zh": tmp_path / "zh"})
    assert models.for_language("en-GB").name == "faster-whisper:tiny.en"
    assert models.for_language("zh-TW").model_dir == tmp_path / "tw"
    assert models.for_language("zh-Hans").model_dir == tmp_path / "zh"
    everywhere = SpeechModels(tmp_path, model_dir=tmp_path / "large")
    assert everywhere.for_language("en").model_dir == tmp_path / "large"
    assert everywhere.for_language("fr").model_dir == tmp_path / "large"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> WhisperRecognizer:
    return SpeechModels(tmp_path_factory.mktemp("var")).multilingual()


@needs_recordings
def test_base_detects_and_transcribes_a_real_english_recording(base: WhisperRecognizer) -> None:
    clip = recordings.recording("0880")  # "he was not an ill disposed young man", 3 s
    assert base.detect_language(clip.path) == "en"
    heard = base.transcribe(clip.path, "en")
    assert [w.word.strip(".,").lower() for w in heard.words] == clip.reference.replace(
        "ill disposed", "ill-disposed").split()


@needs_recordings
def test_hyphenated_words_of_real_speech_stay_whole(tmp_path: Path) -> None:
    clip = recordings.recording("0890")  # "... cold hearted ... ill disposed"
    words = SpeechModels(tmp_path).for_language("en").transcribe(clip.path, "en").words
    text = " ".join(c.text for c in build_cues(words))
    assert "cold-hearted" in text and "ill-disposed" in text, text
    assert " -" not in text


@pytest.mark.integration  # espeak-ng and ffmpeg processes, two runs of Whisper base
def test_the_glossary_reaches_the_chinese_text_of_a_transcript(
        base: WhisperRecognizer, tmp_path: Path) -> None:
    # espeak-ng's Mandarin, a sentence Whisper base hears exactly (tests/test_captions_mandarin.py)
    spoken = tmp_path / "spoken.wav"
    speech.speak(spoken, "谢谢大家，我们下午再见。", speech.MANDARIN_VOICE,  # noqa: RUF001
                 speech.MANDARIN_SPEED)
    wav = tmp_path / "speech.wav"
    subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-y", "-i", str(spoken), "-ac", "1",
                    "-ar", "16000", "-c:a", "pcm_s16le", str(wav)], check=True, timeout=60)
    heard = base.transcribe(wav, "zh")
    assert "我们下午再见" in heard.text, heard.text
    # a name said like 下午 (xia4 wu3): the glossary writes it, in the text and in the words
    named = base.transcribe(wav, "zh", ["夏武"])
    assert "我们夏武" in named.text and "下午" not in named.text, named.text
    assert "夏武" in "".join(w.word for w in named.words)
    # and the prompt does not make base say the sentence twice ("我们夏武在天我们夏武在天")
    assert named.text.count("我们") == 1, named.text
