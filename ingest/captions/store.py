"""Caption data in the bucket: tracks (canonical cues and review state), transcripts, glossary.

Layout (keys.py): `assets/{id}/captions/{lang}/track.json`, `assets/{id}/captions/transcript.json`
and the shared `config/glossary.json`. A track is stored as cues, never as a user's file: every
format served (WebVTT, SRT, HLS segments) is serialised from these.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from ingest.assets.models import CaptionReview, CaptionSource
from ingest.captions.asr import Transcript
from ingest.captions.files import MAX_LINES, CaptionError, Cue, validate_cues
from ingest.errors import InvalidInput, NotFound
from ingest.storage import keys
from ingest.storage.s3 import Storage

JSON_TYPE = "application/json"
MAX_EDITED_CUE_CHARS = 1000
"""Characters of one cue typed by a reviewer (two short lines fit many times over)."""
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # everything but the line feed


class CaptionNotFound(NotFound):
    code = "caption_not_found"

    @classmethod
    def of(cls, asset_id: str, language: str) -> CaptionNotFound:
        return cls(f"Asset {asset_id} has no {language} caption track.")


class TranscriptNotFound(NotFound):
    code = "transcript_not_found"


class InvalidGlossary(InvalidInput):
    code = "invalid_glossary"


class StoredTrack(BaseModel):
    """What `captions/{lang}/track.json` holds."""

    language: str
    source: CaptionSource
    review: CaptionReview
    engine: str | None = None
    """The speech recognizer that made the cues (`faster-whisper:tiny.en`), None for uploads."""
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    cues: list[Cue] = Field(default_factory=list)
    translation_of: str | None = None
    """The language of the track this one translates; its cue times are that track's."""

    @classmethod
    def of(cls, language: str, source: CaptionSource, review: CaptionReview,
           cues: Sequence[Cue], engine: str | None = None,
           translation_of: str | None = None) -> StoredTrack:
        return cls(language=language, source=source, review=review, engine=engine,
                   cues=list(cues), translation_of=translation_of)

    def timings(self) -> list[tuple[float, float]]:
        return [(c.start, c.end) for c in self.cues]

    def revised(self, review: CaptionReview, cues: Sequence[Cue] | None = None) -> StoredTrack:
        """A copy after review: the new state and, for an edit, the new cues."""
        update: dict[str, object] = {"review": review, "updated_at": datetime.now(UTC)}
        if cues is not None:
            update["cues"] = list(cues)
        return self.model_copy(update=update)

    @property
    def is_human(self) -> bool:
        """Uploaded, edited or approved by a person: speech recognition must not replace it."""
        return self.source == CaptionSource.UPLOAD or self.review != CaptionReview.MACHINE


# --------------------------------------------------------------------------- tracks


def load_track(storage: Storage, asset_id: str, language: str) -> StoredTrack:
    try:
        raw = storage.get_bytes(keys.caption_track(asset_id, language))
    except NotFound as exc:
        raise CaptionNotFound.of(asset_id, language) from exc
    return StoredTrack.model_validate_json(raw)


def save_track(storage: Storage, asset_id: str, track: StoredTrack) -> None:
    body = track.model_dump_json().encode()
    storage.put_bytes(keys.caption_track(asset_id, track.language), body, JSON_TYPE)


def delete_track(storage: Storage, asset_id: str, language: str) -> None:
    storage.delete_prefix(keys.caption_track_prefix(asset_id, language))


def edited_cues(cues: Sequence[Cue], max_cues: int) -> list[Cue]:
    """Cues typed by a reviewer: plain text of at most two lines, sorted, no overlaps.

    Raises CaptionError with the same codes as uploaded files (plus `caption_bad_text`).
    """
    check_cue_count(cues, max_cues)
    cleaned = sorted((Cue(c.start, c.end, _clean_text(c.text, n))
                      for n, c in enumerate(cues, start=1)), key=lambda c: (c.start, c.end))
    validate_cues(cleaned)
    return cleaned


def check_cue_count(cues: Sequence[Cue], max_cues: int) -> None:
    if len(cues) > max_cues:
        raise CaptionError("caption_too_many_cues",
                           f"the track has {len(cues)} cues; the limit is {max_cues}")


def _clean_text(text: str, number: int) -> str:
    if len(text) > MAX_EDITED_CUE_CHARS:
        raise CaptionError("caption_bad_text",
                           f"cue {number} is longer than {MAX_EDITED_CUE_CHARS} characters")
    if _CONTROL.search(text):
        raise CaptionError("caption_bad_text", f"cue {number} contains a control character")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    lines = [line for line in lines if line]
    if len(lines) > MAX_LINES:
        raise CaptionError("caption_bad_text", f"cue {number} has more than {MAX_LINES} lines")
    return "\n".join(lines)


# --------------------------------------------------------------------------- transcript


def load_transcript(storage: Storage, asset_id: str) -> Transcript:
    try:
        raw = storage.get_bytes(keys.transcript(asset_id))
    except NotFound as exc:
        raise TranscriptNotFound(
            f"Asset {asset_id} has no transcript yet: speech recognition has not run.") from exc
    return Transcript.from_dict(json.loads(raw))


def save_transcript(storage: Storage, asset_id: str, transcript: Transcript) -> None:
    body = json.dumps(transcript.to_dict(), ensure_ascii=False).encode()
    storage.put_bytes(keys.transcript(asset_id), body, JSON_TYPE)


# --------------------------------------------------------------------------- glossary


def load_glossary(storage: Storage) -> list[str]:
    """The shared glossary; empty until someone sets it."""
    try:
        raw = storage.get_bytes(keys.glossary())
    except NotFound:
        return []
    return [str(term) for term in json.loads(raw).get("terms", [])]


def save_glossary(storage: Storage, terms: Sequence[str]) -> None:
    body = json.dumps({"terms": list(terms)}, ensure_ascii=False).encode()
    storage.put_bytes(keys.glossary(), body, JSON_TYPE)


def clean_glossary(terms: Sequence[str], max_terms: int, max_chars: int) -> list[str]:
    """Whitespace-collapsed, de-duplicated terms; InvalidGlossary past the limits."""
    if len(terms) > max_terms:
        raise InvalidGlossary(f"The glossary has {len(terms)} terms; the limit is {max_terms}.")
    cleaned: list[str] = []
    for term in terms:
        if _CONTROL.search(term) or "\n" in term:
            raise InvalidGlossary(f"Glossary term {term[:30]!r} contains a control character.")
        text = " ".join(term.split())
        if len(text) > max_chars:
            raise InvalidGlossary(f"Glossary term {text[:30]!r}... is longer than {max_chars} "
                                  "characters.")
        if text and text not in cleaned:
            cleaned.append(text)
    return cleaned
