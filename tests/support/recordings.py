"""Real recordings of human speech for speech-recognition tests and the caption bench.

Debian's `pocketsphinx-testdata` (BSD-2, CMU) ships five sentences of Jane Austen's *Sense and
Sensibility* read by a LibriVox volunteer (public-domain recordings), 16 kHz mono WAV, with
their transcription: `make system-deps` installs it. No real recording of Mandarin speech was
found in any package registry reachable here (PyPI, npm, Debian), so Chinese speech is tested
end to end on espeak-ng's Mandarin voice `cmn-latn-pinyin` (tests/test_captions_mandarin.py:
synthetic, intelligible to Whisper base) and measured in bench/captions.py on that and on a
neural voice; its `cmn` voice reads tone digits aloud and is not used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")


@dataclass(frozen=True)
class Recording:
    path: Path
    reference: str
    """What the reader says, lower case, without punctuation (as the package transcribes it)."""


def librivox() -> list[Recording]:
    """The five recordings with their transcriptions; empty when the package is missing."""
    transcription = LIBRIVOX / "transcription"
    if not transcription.is_file():
        return []
    recordings = []
    for line in transcription.read_text().splitlines():
        match = re.fullmatch(r"<s> (.*) </s> \((\S+)\)", line.strip())
        if match and (LIBRIVOX / f"{match[2]}.wav").is_file():
            recordings.append(Recording(LIBRIVOX / f"{match[2]}.wav", match[1]))
    return recordings


def recording(stem_suffix: str) -> Recording:
    return next(r for r in librivox() if r.path.stem.endswith(stem_suffix))
