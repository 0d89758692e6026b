"""Spoken test media: espeak-ng sentences placed at known times, muxed under a lavfi video."""

from __future__ import annotations

import re
import subprocess
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jiwer


@dataclass(frozen=True)
class Placed:
    text: str
    start: float
    duration: float


MANDARIN_VOICE = "cmn-latn-pinyin"
"""espeak-ng's Mandarin voice that reads characters as Mandarin syllables with their tones.
Its other Mandarin voice, `cmn` ("latin as English"), turns each character into pinyin with a
tone digit and reads that as English: "jin1" becomes "jin one", which no recognizer can take
for Mandarin (espeak-ng 1.51, Debian 12)."""
MANDARIN_SPEED = 130
"""Words per minute for Mandarin: Whisper base heard the test sentences best at 130 (of 100,
130, 150 and 170 tried)."""


def speak(path: Path, text: str, voice: str | None = None, speed: int = 150) -> float:
    """``text`` spoken by espeak-ng (its default voice, or ``voice``) into a WAV; returns its
    duration in seconds."""
    chosen = ["-v", voice] if voice else []
    subprocess.run(["espeak-ng", *chosen, "-w", str(path), "-s", str(speed), text], check=True,
                   capture_output=True, timeout=60)
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def speech_track(folder: Path, sentences: Sequence[tuple[str, float]],
                 seconds: float, voice: str | None = None,
                 speed: int = 150) -> tuple[Path, list[Placed]]:
    """One WAV of ``seconds`` with each (text, start) sentence spoken from ``start`` on."""
    folder.mkdir(parents=True, exist_ok=True)
    placed, inputs, chains = [], [], []
    for i, (text, start) in enumerate(sentences):
        clip = folder / f"sentence-{i}.wav"
        placed.append(Placed(text, start, speak(clip, text, voice, speed)))
        inputs += ["-i", str(clip)]
        delay = round(start * 1000)
        chains.append(f"[{i}:a]aresample=16000,adelay={delay}:all=1[s{i}]")
    labels = "".join(f"[s{i}]" for i in range(len(sentences)))
    mix = f"{labels}amix=inputs={len(sentences)}:normalize=0,apad[a]"
    out = folder / "speech.wav"
    subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-y", *inputs,
                    "-filter_complex", ";".join([*chains, mix]), "-map", "[a]",
                    "-t", str(seconds), "-ac", "1", str(out)],
                   check=True, capture_output=True, timeout=60)
    return out, placed


def speech_clip(path: Path, sentences: Sequence[tuple[str, float]], seconds: float = 12,
                width: int = 320, height: int = 180, voice: str | None = None,
                speed: int = 150) -> tuple[Path, list[Placed]]:
    """An MP4: a lavfi test pattern with the sentences as its AAC audio."""
    audio, placed = speech_track(path.parent / f"{path.stem}-audio", sentences, seconds,
                                 voice, speed)
    if not path.exists():
        subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc2=size={width}x{height}:rate=30:duration={seconds}",
                        "-i", str(audio), "-map", "0:v", "-map", "1:a",
                        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-b:a", "64k", "-ar", "48000", "-t", str(seconds),
                        str(path)], check=True, capture_output=True, timeout=120)
    return path, placed


def bare(text: str) -> str:
    """Lower case without punctuation, for word comparisons."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(bare(reference), bare(hypothesis)))
