"""Speech recognition per model and language: error rate and real-time factor, side by side.

    .venv/bin/python bench/captions.py [--model-dir DIR ...] [--threads 2] [--runs 1]
                                       [--clip LANG:WAV:REFERENCE-TEXT-FILE[:LABEL] ...]
                                       [--no-espeak]

Each row names where its speech comes from:
- `LibriVox (human)`: real recordings, the five LibriVox sentences of Debian's
  `pocketsphinx-testdata` (English, 25 s; `make system-deps` installs it);
- `espeak-ng (synthetic)`: eight Mandarin sentences spoken by espeak-ng's `cmn-latn-pinyin`
  voice, made on the fly (robotic: a floor for what Whisper hears, not a figure for people);
- any `--clip` you give: a 16 kHz mono WAV, its language, a file with what is said and a label
  (e.g. a Mandarin recording of your own: its character error rate is printed).
No recording of human Mandarin speech with its transcript exists in the registries reachable
here (PyPI, npm, Debian; searched 2026-12-01): the Chinese rows are synthetic unless you give
one with --clip. Each model runs in this one process on the same clips: the embedded tiny.en
(English only), the multilingual Whisper base joined from its two packages, and each
--model-dir. The real-time factor is recognition time over audio duration (lower is faster;
the model load is reported apart). WER (English and other spaced languages) ignores case,
punctuation and hyphens, and reads "Mr." as "mister"; CER (Chinese, Japanese) is counted on
characters with punctuation and spaces removed, numbers as written (no number normalisation
either side), over all clips of a row together.
"""
# ruff: noqa: RUF001  (Chinese sentences: their full-width punctuation is the point)

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
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
from tests.support import recordings, speech  # noqa: E402

CHARACTER_LANGUAGES = {"zh", "yue", "ja"}
LIBRIVOX = "LibriVox (human)"
ESPEAK = "espeak-ng (synthetic)"
MANDARIN_SENTENCES = (
    "我们明天上午九点开始讨论新的计划。",
    "大家好，欢迎来到今年的开发者大会。",
    "下面请张老师介绍一下这个项目。",
    "这个系统可以自动生成中文字幕。",
    "谢谢大家，我们下午再见。",
    "今天的天气非常好。",
    "我是一名软件工程师。",
    "中国是一个历史悠久的国家。",
)
"""Everyday sentences, chosen before any was heard (the end-to-end test's clip takes three of
them; this row keeps all eight, the ones Whisper base mishears included)."""


@dataclass
class Clip:
    language: str
    path: Path
    reference: str
    seconds: float
    source: str = LIBRIVOX


def clips(extra: list[str], espeak_dir: Path | None) -> list[Clip]:
    found = [Clip("en", r.path, r.reference, _seconds(r.path)) for r in recordings.librivox()]
    if espeak_dir is not None:
        found += espeak_mandarin(espeak_dir)
    for spec in extra:
        language, wav, reference, *label = spec.split(":", 3)
        found.append(Clip(language, Path(wav), Path(reference).read_text(encoding="utf-8"),
                          _seconds(Path(wav)), label[0] if label else f"--clip {Path(wav).name}"))
    return found


def espeak_mandarin(folder: Path) -> list[Clip]:
    """MANDARIN_SENTENCES spoken by espeak-ng's Mandarin voice, as 16 kHz mono WAVs."""
    if shutil.which("espeak-ng") is None:
        print("espeak-ng is not installed (make system-deps): no synthetic Mandarin rows")
        return []
    made = []
    for n, sentence in enumerate(MANDARIN_SENTENCES):
        spoken, wav = folder / f"zh-{n}-espeak.wav", folder / f"zh-{n}.wav"
        speech.speak(spoken, sentence, speech.MANDARIN_VOICE, speech.MANDARIN_SPEED)
        subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-y", "-i", str(spoken),
                        "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(wav)],
                       check=True, capture_output=True, timeout=60)
        made.append(Clip("zh", wav, sentence, _seconds(wav), ESPEAK))
    return made


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
                        help="LANG:WAV:REFERENCE_FILE[:LABEL], a recording of your own "
                             "(repeatable)")
    parser.add_argument("--no-espeak", action="store_true",
                        help="leave out the synthetic Mandarin sentences")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1, help="best of N per clip")
    parser.add_argument("--verbose", action="store_true", help="print what each clip gave")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="podium-bench-captions-") as tmp:
        measured = clips(args.clip, None if args.no_espeak else Path(tmp))
        if not measured:
            sys.exit("no recordings: install pocketsphinx-testdata and espeak-ng "
                     "(make system-deps) or give --clip")
        models = SpeechModels(Path(tmp), args.threads)
        recognizers = [asr.default_recognizer(None, args.threads), models.multilingual()]
        recognizers += [asr.WhisperRecognizer(d, args.threads) for d in args.model_dir]
        print(f"{'model':<22} {'lang':<5} {'speech':<26} {'clips':>5} {'audio s':>8} "
              f"{'asr s':>7} {'RTF':>6} {'rate':>11}   load s")
        for recognizer in recognizers:
            began = time.perf_counter()
            recognizer.transcribe(measured[0].path, "en" if not recognizer.is_multilingual()
                                  else measured[0].language)  # load + warm-up, timed apart
            load_s = time.perf_counter() - began
            for language, source in sorted({(c.language, c.source) for c in measured}):
                own = [c for c in measured if (c.language, c.source) == (language, source)]
                row = f"{recognizer.name:<22} {language:<5} {source:<26} {len(own):>5}"
                if not recognizer.supports_language(language):
                    print(f"{row} {'':>8} {'':>7} {'':>6} {'(English-only model)':>11}")
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
                    if args.verbose:
                        print(f"    {clip.reference!r} -> {text!r}")
                audio = sum(c.seconds for c in own)
                kind, rate = error_rate(language, [c.reference for c in own], heard)
                print(f"{row} {audio:>8.1f} {spent:>7.2f} {spent / audio:>6.3f} "
                      f"{kind} {100 * rate:>5.1f} %   {load_s:.2f}")
        print(f"({args.threads} threads, best of {args.runs}; CPU shared with whatever else runs)")


if __name__ == "__main__":
    main()
