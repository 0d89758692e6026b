"""Speech recognition per model and language: error rate and real-time factor, side by side.

    .venv/bin/python bench/captions.py [--model-dir DIR ...] [--threads 2] [--runs 1]
                                       [--clip LANG:WAV:REFERENCE-TEXT-FILE ...]

Measured on real recordings of human speech: the five LibriVox sentences of Debian's
`pocketsphinx-testdata` (English, 25 s; `make system-deps` installs it), plus any `--clip` you
give (a 16 kHz mono WAV, its language and a file with what is said, e.g. a Mandarin recording
of your own: its character error rate is printed). Each model runs in this one process on the
same clips: the embedded tiny.en (English only), the multilingual Whisper base joined from
its two packages, and each --model-dir. The real-time factor is recognition time over audio
duration (lower is faster; the model load is reported apart). WER (English and other spaced
languages) ignores case, punctuation and hyphens, and reads "Mr." as "mister"; CER (Chinese,
Japanese) is counted on characters with punctuation and spaces removed, numbers as written (no
number normalisation either side).
No real Mandarin recording exists in the registries reachable here (PyPI, npm, Debian): the
table has no Chinese row unless you give one with --clip.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jiwer  # noqa: E402

from ingest.captions import asr  # noqa: E402
from ingest.captions.speech_models import SpeechModels  # noqa: E402
from ingest.languages import primary_subtag  # noqa: E402
from tests.support import recordings  # noqa: E402

CHARACTER_LANGUAGES = {"zh", "yue", "ja"}


@dataclass
class Clip:
    language: str
    path: Path
    reference: str
    seconds: float


def clips(extra: list[str]) -> list[Clip]:
    found = [Clip("en", r.path, r.reference, _seconds(r.path)) for r in recordings.librivox()]
    for spec in extra:
        language, wav, reference = spec.split(":", 2)
        found.append(Clip(language, Path(wav), Path(reference).read_text(encoding="utf-8"),
                          _seconds(Path(wav))))
    return found


def _seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


TITLES = {"mr": "mister", "mrs": "missus", "dr": "doctor"}
"""Spoken forms of abbreviated titles, as Whisper's own English normaliser writes them (the
LibriVox transcriptions spell "mister")."""


def bare_words(text: str) -> str:
    words = re.sub(r"[^\w\s']", " ", text.lower().replace("-", " ")).split()
    return " ".join(TITLES.get(w, w) for w in words)


def bare_chars(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def error_rate(language: str, references: list[str], heard: list[str]) -> tuple[str, float]:
    if primary_subtag(language) in CHARACTER_LANGUAGES:
        return "CER", float(jiwer.cer([bare_chars(r) for r in references],
                                      [bare_chars(h) for h in heard]))
    return "WER", float(jiwer.wer([bare_words(r) for r in references],
                                  [bare_words(h) for h in heard]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", action="append", type=Path, default=[],
                        help="a CTranslate2 Whisper model directory (repeatable)")
    parser.add_argument("--clip", action="append", default=[],
                        help="LANG:WAV:REFERENCE_FILE, a recording of your own (repeatable)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1, help="best of N per clip")
    args = parser.parse_args()
    measured = clips(args.clip)
    if not measured:
        sys.exit("no recordings: install pocketsphinx-testdata (make system-deps) or give --clip")
    with tempfile.TemporaryDirectory(prefix="podium-bench-captions-") as tmp:
        models = SpeechModels(Path(tmp), args.threads)
        recognizers = [asr.default_recognizer(None, args.threads), models.multilingual()]
        recognizers += [asr.WhisperRecognizer(d, args.threads) for d in args.model_dir]
        print(f"{'model':<26} {'lang':<5} {'clips':>5} {'audio s':>8} {'asr s':>7} "
              f"{'RTF':>6} {'rate':>11}   load s")
        for recognizer in recognizers:
            began = time.perf_counter()
            recognizer.transcribe(measured[0].path, "en" if not recognizer.is_multilingual()
                                  else measured[0].language)  # load + warm-up, timed apart
            load_s = time.perf_counter() - began
            for language in sorted({c.language for c in measured}):
                own = [c for c in measured if c.language == language]
                if not recognizer.supports_language(language):
                    print(f"{recognizer.name:<26} {language:<5} {'':>5} {'':>8} {'':>7} "
                          f"{'':>6} {'(English-only model)':>11}")
                    continue
                spent, heard = 0.0, []
                for clip in own:
                    best, text = float("inf"), ""
                    for _ in range(args.runs):
                        t0 = time.perf_counter()
                        text = recognizer.transcribe(clip.path, language).text
                        best = min(best, time.perf_counter() - t0)
                    spent += best
                    heard.append(text)
                audio = sum(c.seconds for c in own)
                kind, rate = error_rate(language, [c.reference for c in own], heard)
                print(f"{recognizer.name:<26} {language:<5} {len(own):>5} {audio:>8.1f} "
                      f"{spent:>7.2f} {spent / audio:>6.3f} {kind} {100 * rate:>5.1f} %   "
                      f"{load_s:.2f}")
        print(f"({args.threads} threads, best of {args.runs}; CPU shared with whatever else runs)")


if __name__ == "__main__":
    main()
