"""From a media file to a transcript: 16 kHz mono audio extracted once, then speech recognition."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ingest.captions.asr import MODEL_DIR_SETTING, AsrError, SpeechRecognizer, Transcript
from ingest.captions.speech_models import PER_LANGUAGE_SETTING
from ingest.languages import AUTO, canonical_language
from ingest.media import commands, ffmpeg

_FROM_WHISPER = {"jw": "jv"}

EXTRACT_SHARE = 0.1
"""Share of the progress bar given to audio extraction; recognition takes the rest."""


@dataclass(frozen=True)
class TranscriptionOptions:
    language: str
    audio_stream: int
    """Index of the probed audio stream: the one track recognition hears."""
    glossary: Sequence[str]
    duration_s: float
    timeout_s: float
    nice: int


def check_language(recognizer: SpeechRecognizer, language: str) -> None:
    """Refuse early, before any audio is extracted, a language the model cannot transcribe."""
    if not recognizer.supports_language(language):
        raise AsrError(
            "asr_language_unsupported",
            f"The speech model {recognizer.name} cannot transcribe {language!r}: set "
            f"{MODEL_DIR_SETTING} (or {PER_LANGUAGE_SETTING}) to a Whisper model that knows it, "
            "or upload a caption file for this language.",
        )


class Recognizers(Protocol):
    """The recognizer for each language, and one that tells which language is spoken."""

    def for_language(self, language: str) -> SpeechRecognizer: ...

    def multilingual(self) -> SpeechRecognizer: ...


def transcribe_media(
    source: Path, demuxer: str, work_dir: Path, recognizers: Recognizers,
    opts: TranscriptionOptions, on_progress: Callable[[float], None],
    on_detected: Callable[[str], None] | None = None,
) -> Transcript:
    """Transcribe the chosen audio stream of ``source``; ``on_progress`` gets fractions 0..1.

    With ``opts.language`` `auto`, the multilingual model first tells the spoken language
    (``on_detected`` gets its BCP-47 tag), then that language's model transcribes. Callers
    check a given language first (`check_language`), before fetching any media.
    """
    wav = work_dir / "speech.wav"
    duration = max(opts.duration_s, 0.001)
    ffmpeg.run(commands.audio_extract_command(source, demuxer, opts.audio_stream, wav),
               timeout_s=opts.timeout_s, nice=opts.nice, cwd=work_dir,
               on_progress=lambda s: on_progress(EXTRACT_SHARE * min(1.0, s / duration)))
    try:
        language = opts.language
        if language == AUTO:
            language = detected_language(recognizers.multilingual(), wav)
            if on_detected is not None:
                on_detected(language)
        recognizer = recognizers.for_language(language)
        check_language(recognizer, language)
        return recognizer.transcribe(
            wav, language, opts.glossary,
            lambda f: on_progress(EXTRACT_SHARE + (1 - EXTRACT_SHARE) * f))
    finally:
        wav.unlink(missing_ok=True)


def detected_language(recognizer: SpeechRecognizer, wav: Path) -> str:
    """The spoken language of ``wav`` as a BCP-47 tag (Whisper's `jw` is `jv`)."""
    code = recognizer.detect_language(wav)
    return canonical_language(_FROM_WHISPER.get(code, code))
