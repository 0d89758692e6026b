"""Speech recognition per model on the same espeak-ng clips: real-time factor and word error rate.

    .venv/bin/python bench/captions.py [--model-dir DIR ...] [--threads 2] [--runs 1]

Without --model-dir it measures the embedded Whisper tiny.en; each --model-dir adds a
CTranslate2 Whisper model (as PODIUM_ASR_MODEL_DIR would set it). All models run in this one
process, one after the other, on the same clips. The real-time factor is recognition time over
audio duration (lower is faster; the model load is reported apart); WER ignores case and
punctuation.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jiwer  # noqa: E402

from ingest.captions import asr  # noqa: E402
from tests.support.speech import bare, speak, speech_track, wer  # noqa: E402

CLIPS: dict[str, list[tuple[str, float]]] = {
    "meeting-12s": [
        ("Welcome to the annual meeting of our company.", 0.5),
        ("Today we will talk about the new product.", 4.5),
        ("Thank you all for listening to this message.", 8.5),
    ],
    "keynote-40s": [
        ("Good morning and thank you for joining us at the summit.", 0.5),
        ("Last year our team shipped three major releases.", 5.0),
        ("The new platform handles twice as many customers as before.", 9.5),
        ("We also opened offices in Lisbon and in Singapore.", 14.5),
        ("Our engineers rewrote the billing system from scratch.", 19.0),
        ("Next quarter we will focus on reliability and security.", 23.5),
        ("Please send your questions to the moderator at any time.", 28.5),
        ("Enjoy the rest of the conference and see you tonight.", 33.5),
    ],
}
SECONDS = {"meeting-12s": 12.0, "keynote-40s": 40.0}


@dataclass
class Result:
    model: str
    clip: str
    audio_s: float
    seconds: float
    wer: float
    reference: str
    heard: str


def make_clips(folder: Path) -> dict[str, tuple[Path, str]]:
    """Each clip as 16 kHz mono WAV, with its reference text."""
    clips = {}
    for name, sentences in CLIPS.items():
        wav, placed = speech_track(folder / name, sentences, SECONDS[name])
        clips[name] = (wav, " ".join(p.text for p in placed))
    return clips


def recognizer_for(model_dir: Path | None, threads: int) -> asr.WhisperRecognizer:
    return asr.default_recognizer(model_dir, threads)


def warm_up(recognizer: asr.WhisperRecognizer, folder: Path) -> float:
    """Load the model (timed apart) with a one-word clip."""
    raw, wav = folder / "warm.wav", folder / "warm16.wav"
    speak(raw, "Hello.")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(raw), "-ac", "1", "-ar", "16000",
                    str(wav)], check=True, timeout=60)
    began = time.perf_counter()
    recognizer.transcribe(wav, "en")
    return time.perf_counter() - began


def measure(recognizer: asr.WhisperRecognizer, clips: dict[str, tuple[Path, str]],
            runs: int) -> list[Result]:
    results = []
    for name, (wav, reference) in clips.items():
        best, text = float("inf"), ""
        for _ in range(runs):
            began = time.perf_counter()
            text = recognizer.transcribe(wav, "en").text
            best = min(best, time.perf_counter() - began)
        results.append(Result(recognizer.name, name, SECONDS[name], best, wer(reference, text),
                              reference, text))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", action="append", type=Path, default=[],
                        help="a CTranslate2 Whisper model directory (repeatable)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1, help="best of N per clip")
    args = parser.parse_args()
    models: list[Path | None] = list(args.model_dir) or [None]
    with tempfile.TemporaryDirectory(prefix="podium-bench-captions-") as tmp:
        clips = make_clips(Path(tmp))
        print(f"{'model':<32} {'clip':<13} {'audio s':>8} {'asr s':>7} {'RTF':>6} {'WER':>6}")
        for model_dir in models:
            recognizer = recognizer_for(model_dir, args.threads)
            load_s = warm_up(recognizer, Path(tmp))
            results = measure(recognizer, clips, args.runs)
            for r in results:
                print(f"{r.model:<32} {r.clip:<13} {r.audio_s:>8.1f} {r.seconds:>7.2f} "
                      f"{r.seconds / r.audio_s:>6.3f} {r.wer:>6.3f}")
            audio = sum(r.audio_s for r in results)
            spent = sum(r.seconds for r in results)
            corpus_wer = float(jiwer.wer([bare(r.reference) for r in results],
                                         [bare(r.heard) for r in results]))
            print(f"{recognizer.name:<32} {'all':<13} {audio:>8.1f} {spent:>7.2f} "
                  f"{spent / audio:>6.3f} {corpus_wer:>6.3f}   (load + warm-up {load_s:.2f} s, "
                  f"{args.threads} threads)")


if __name__ == "__main__":
    main()
