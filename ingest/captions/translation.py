"""Translated caption tracks: templates for human translators, their work read back, and
machine translation behind an interface.

A template lists the source track's cues, numbered from 1, with their times and text: SubRip
(the translator overwrites each text), XLIFF 1.2 (computer-aided translation tools: one
`trans-unit` per cue, `source` filled, `target` to write, the times as a note) or JSON
(`{"source_language", "cues": [{"id", "start", "end", "text"}]}`). The translation comes back
in any of the three; only its texts are read, matched to the source's cues by number, so the
translated track keeps the source's timings exactly.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol
from xml.etree import ElementTree as ET
from xml.parsers import expat

from ingest.captions.files import CaptionError, Cue, parse_captions, to_srt, validate_cues
from ingest.errors import Conflict
from ingest.languages import primary_subtag

TemplateFormat = Literal["srt", "xliff", "json"]
TEMPLATE_TYPES: dict[str, str] = {
    "srt": "application/x-subrip", "xliff": "application/xliff+xml",
    "json": "application/json",
}
XLIFF_NS = "urn:oasis:names:tc:xliff:document:1.2"
MT_SETTING = "PODIUM_MT_MODEL_DIR"


class TranslationUnavailable(Conflict):
    """No machine translation model is configured (409: the deployment, not the request)."""

    code = "translation_unavailable"


# --------------------------------------------------------------------------- templates


def template(cues: Sequence[Cue], fmt: TemplateFormat, source_language: str,
             asset_id: str) -> str:
    if fmt == "srt":
        return to_srt(cues)
    if fmt == "json":
        return json.dumps({
            "asset_id": asset_id, "source_language": source_language,
            "cues": [{"id": n, "start": c.start, "end": c.end, "text": c.text}
                     for n, c in enumerate(cues, start=1)]}, ensure_ascii=False, indent=1)
    return _xliff(cues, source_language, asset_id)


def _xliff(cues: Sequence[Cue], source_language: str, asset_id: str) -> str:
    ET.register_namespace("", XLIFF_NS)
    root = ET.Element(f"{{{XLIFF_NS}}}xliff", version="1.2")
    file = ET.SubElement(root, f"{{{XLIFF_NS}}}file", {
        "original": f"{asset_id}/captions/{source_language}", "datatype": "plaintext",
        "source-language": source_language})
    body = ET.SubElement(file, f"{{{XLIFF_NS}}}body")
    for n, cue in enumerate(cues, start=1):
        unit = ET.SubElement(body, f"{{{XLIFF_NS}}}trans-unit", id=str(n))
        ET.SubElement(unit, f"{{{XLIFF_NS}}}source").text = cue.text
        ET.SubElement(unit, f"{{{XLIFF_NS}}}target")
        ET.SubElement(unit, f"{{{XLIFF_NS}}}note").text = f"{cue.start:.3f} --> {cue.end:.3f}"
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


# --------------------------------------------------------------------------- translations


def translated_cues(body: bytes, source: Sequence[Cue], max_bytes: int) -> list[Cue]:
    """The source's cues with the texts of a translated template (SRT, WebVTT, XLIFF, JSON).

    Raises CaptionError `translation_mismatch` when the cues do not match the source's one to
    one, and the caption file codes for a broken file.
    """
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"{":
        texts = _json_texts(body)
    elif head == b"<":
        texts = _xliff_texts(body)
    else:
        texts = {n: c.text for n, c in enumerate(parse_captions(body, max_bytes), start=1)}
    if sorted(texts) != list(range(1, len(source) + 1)):
        raise CaptionError(
            "translation_mismatch",
            f"the translation has {len(texts)} cues numbered {_span(texts)}; the source track "
            f"has {len(source)} (numbered 1 to {len(source)}): translate every cue of the "
            "template, keeping its number")
    cues = [Cue(c.start, c.end, _clean(texts[n], n)) for n, c in enumerate(source, start=1)]
    validate_cues(cues)
    return cues


def _span(texts: dict[int, str]) -> str:
    return f"{min(texts)} to {max(texts)}" if texts else "nothing"


def _clean(text: str, number: int) -> str:
    lines = [" ".join(line.split()) for line in text.replace("\r", "").split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        raise CaptionError("translation_mismatch", f"cue {number} has no translated text")
    if len(lines) > 2:
        raise CaptionError("caption_bad_text", f"cue {number} has more than 2 lines")
    return "\n".join(lines)


def _json_texts(body: bytes) -> dict[int, str]:
    try:
        data = json.loads(body)
        return {int(c["id"]): str(c["text"]) for c in data["cues"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise CaptionError("caption_format_unknown",
                           f"not a JSON translation template: {exc}") from exc


def _refuse_doctype(body: bytes) -> None:
    """No entity expansion, ever: expat reports a DOCTYPE before it declares or expands
    anything, whatever the encoding (a byte search misses `<!DOCTYPE` in UTF-16)."""

    def refuse(*_args: object) -> None:
        raise CaptionError("caption_format_unknown", "XLIFF with a DOCTYPE is refused")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise CaptionError("caption_format_unknown", f"not XLIFF: {exc}") from exc


def _xliff_texts(body: bytes) -> dict[int, str]:
    _refuse_doctype(body)
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise CaptionError("caption_format_unknown", f"not XLIFF: {exc}") from exc
    texts: dict[int, str] = {}
    for unit in root.iter(f"{{{XLIFF_NS}}}trans-unit"):
        target = unit.find(f"{{{XLIFF_NS}}}target")
        try:
            number = int(unit.get("id", ""))
        except ValueError as exc:
            raise CaptionError("translation_mismatch", "a trans-unit id is not a cue number"
                               ) from exc
        texts[number] = "".join(target.itertext()) if target is not None else ""
    return texts


# --------------------------------------------------------------------------- machine translation


class Translator(Protocol):
    """Machine translation of cue texts; ``name`` is recorded as the track's engine."""

    name: str

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]: ...


def machine_translator(model_dir: Path | None) -> Translator:
    """The configured CTranslate2 translation model; TranslationUnavailable without one."""
    if model_dir is None:
        raise TranslationUnavailable(
            f"No machine translation model is configured ({MT_SETTING}): upload a human "
            "translation (GET .../template, then PUT .../captions/{lang}?translation_of=...).")
    if not (model_dir / "model.bin").is_file():
        raise TranslationUnavailable(
            f"{MT_SETTING} does not hold a CTranslate2 translation model.",
            detail=f"{model_dir}/model.bin is missing")
    return _loaded_once(model_dir.resolve())


@functools.lru_cache(maxsize=4)
def _loaded_once(model_dir: Path) -> CTranslate2Translator:
    """One translator per model directory and process: it loads its model on first use and
    keeps it (a new one per request loaded the model again for every translation)."""
    return CTranslate2Translator(model_dir)


class CTranslate2Translator:
    """A CTranslate2 translation model with SentencePiece tokenizers (`source.spm` and
    `target.spm` beside `model.bin`, as OPUS-MT conversions ship). Multilingual models that
    need a target-language token (NLLB, M2M-100) get it as the target prefix."""

    def __init__(self, model_dir: Path, threads: int = 2) -> None:
        self.model_dir = model_dir
        self.threads = threads
        self.name = f"ctranslate2:{model_dir.name}"
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any, Any] | None = None

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        translator, source_spm, target_spm = self._load()
        pieces = [source_spm.encode(t.replace("\n", " "), out_type=str) for t in texts]
        prefix = self._target_prefix(target)
        try:
            results = translator.translate_batch(
                pieces, target_prefix=[prefix] * len(pieces) if prefix else None, beam_size=4)
        except Exception as exc:  # CTranslate2 raises bare RuntimeError
            raise TranslationUnavailable("Machine translation failed.", detail=str(exc)) from exc
        out = []
        for result in results:
            tokens = result.hypotheses[0][len(prefix or []):]
            out.append(target_spm.decode(tokens))
        return out

    def _target_prefix(self, target: str) -> list[str] | None:
        vocabulary = self.model_dir / "shared_vocabulary.json"
        if not vocabulary.is_file():
            return None
        known = set(json.loads(vocabulary.read_text(encoding="utf-8")))
        for token in (f"__{primary_subtag(target)}__", f"{_NLLB.get(primary_subtag(target))}"):
            if token in known:
                return [token]
        return None

    def _load(self) -> tuple[Any, Any, Any]:
        with self._lock:
            if self._loaded is None:
                try:
                    import ctranslate2
                    import sentencepiece
                except ImportError as exc:
                    raise TranslationUnavailable(
                        "Machine translation needs the sentencepiece package.",
                        detail=str(exc)) from exc
                spm = [self.model_dir / name for name in ("source.spm", "target.spm")]
                if not all(p.is_file() for p in spm):
                    raise TranslationUnavailable(
                        f"{MT_SETTING} lacks source.spm/target.spm (SentencePiece models).",
                        detail=str(self.model_dir))
                self._loaded = (
                    ctranslate2.Translator(str(self.model_dir), device="cpu",
                                           inter_threads=1, intra_threads=self.threads),
                    sentencepiece.SentencePieceProcessor(model_file=str(spm[0])),
                    sentencepiece.SentencePieceProcessor(model_file=str(spm[1])))
            return self._loaded


_NLLB = {"en": "eng_Latn", "zh": "zho_Hans", "fr": "fra_Latn", "de": "deu_Latn",
         "es": "spa_Latn", "ja": "jpn_Jpan", "ko": "kor_Hang", "ru": "rus_Cyrl"}


def machine_translated(cues: Sequence[Cue], translator: Translator, source: str,
                       target: str) -> list[Cue]:
    """The source's cues with machine-translated texts, the source's timings kept."""
    texts = translator.translate([c.text for c in cues], source, target)
    return [Cue(c.start, c.end, _clean(_one_or_two_lines(t), n))
            for n, (c, t) in enumerate(zip(cues, texts, strict=True), start=1)]


def _one_or_two_lines(text: str) -> str:
    return re.sub(r"\s*\n\s*", "\n", text.strip()) or "…"
