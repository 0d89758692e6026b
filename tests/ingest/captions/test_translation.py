"""Translation templates and translated tracks (no model: the workflow of human translators)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ingest.captions import translation
from ingest.captions.files import CaptionError, Cue

SOURCE = [Cue(0.5, 2.0, "He was not an ill-disposed young man."),
          Cue(2.4, 4.0, "He might even have been\nmade amiable himself.")]
CHINESE = ["他并不是一个心怀恶意的年轻人。", "他甚至可能\n变得和蔼可亲。"]


def test_json_template_round_trip_keeps_the_source_timings() -> None:
    data = json.loads(translation.template(SOURCE, "json", "en", "as-1"))
    assert data["source_language"] == "en"
    assert [(c["id"], c["start"], c["end"]) for c in data["cues"]] == [(1, 0.5, 2.0),
                                                                      (2, 2.4, 4.0)]
    for cue, text in zip(data["cues"], CHINESE, strict=True):
        cue["text"] = text
        cue["start"] += 9  # a translator's slip: times are the source's, whatever it says
    cues = translation.translated_cues(json.dumps(data).encode(), SOURCE, 10_000)
    assert cues == [Cue(0.5, 2.0, CHINESE[0]), Cue(2.4, 4.0, CHINESE[1])]


def test_xliff_template_round_trip() -> None:
    xliff = translation.template(SOURCE, "xliff", "en", "as-1")
    assert 'source-language="en"' in xliff and "<source>He was not" in xliff
    filled = iter(CHINESE)
    translated = re.sub(r"<target\s*/>", lambda _m: f"<target>{next(filled)}</target>", xliff)
    cues = translation.translated_cues(translated.encode(), SOURCE, 10_000)
    assert [c.text for c in cues] == CHINESE
    assert [(c.start, c.end) for c in cues] == [(0.5, 2.0), (2.4, 4.0)]


def test_srt_template_round_trip() -> None:
    srt = translation.template(SOURCE, "srt", "en", "as-1")
    translated = srt.replace(SOURCE[0].text, CHINESE[0]).replace(SOURCE[1].text, CHINESE[1])
    cues = translation.translated_cues(translated.encode(), SOURCE, 10_000)
    assert [c.text for c in cues] == CHINESE


def test_a_translation_must_match_the_source_cue_for_cue() -> None:
    data = json.loads(translation.template(SOURCE, "json", "en", "as-1"))
    data["cues"] = data["cues"][:1]
    with pytest.raises(CaptionError) as caught:
        translation.translated_cues(json.dumps(data).encode(), SOURCE, 10_000)
    assert caught.value.code == "translation_mismatch"
    empty = translation.template(SOURCE, "xliff", "en", "as-1")  # targets left empty
    with pytest.raises(CaptionError) as caught:
        translation.translated_cues(empty.encode(), SOURCE, 10_000)
    assert caught.value.code == "translation_mismatch"


def test_xliff_with_entities_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xliff>&a;</xliff>'
    with pytest.raises(CaptionError) as caught:
        translation.translated_cues(bomb, SOURCE, 10_000)
    assert caught.value.code == "caption_format_unknown"


def test_xliff_entities_in_another_encoding_are_refused_too() -> None:
    """UTF-16 without a byte order mark starts with `<` (so it is read as XLIFF) and hides
    `<!DOCTYPE` from a byte search; expat would still expand its entities."""
    template = translation.template(SOURCE, "xliff", "en", "as-1")
    filled = iter(["&a;", CHINESE[1]])
    translated = re.sub(r"<target\s*/>", lambda _m: f"<target>{next(filled)}</target>", template)
    doc = re.sub(r"^<\?xml[^>]*\?>", '<?xml version="1.0" encoding="UTF-16"?>'
                 '<!DOCTYPE xliff [<!ENTITY a "expanded">]>', translated)
    assert "<!DOCTYPE" in doc
    with pytest.raises(CaptionError) as caught:
        translation.translated_cues(doc.encode("utf-16-le"), SOURCE, 10_000)
    assert caught.value.code == "caption_format_unknown"


def test_machine_translation_without_a_model_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(translation.TranslationUnavailable) as caught:
        translation.machine_translator(None)
    assert caught.value.code == "translation_unavailable"
    assert "PODIUM_MT_MODEL_DIR" in caught.value.message
    with pytest.raises(translation.TranslationUnavailable):
        translation.machine_translator(tmp_path)  # no model.bin there


def test_one_translator_per_model_directory(tmp_path: Path) -> None:
    """The model is loaded by the translator on first use: a new one per request would load
    it again for every translation."""
    (tmp_path / "model.bin").write_bytes(b"")
    first = translation.machine_translator(tmp_path)
    assert translation.machine_translator(tmp_path) is first
