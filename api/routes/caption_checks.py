"""`/v1/captions/check`: the caption editor's cue check, on cues not saved yet (producers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ProducerDep, ProducerFirstRoute
from api.responses import PRODUCER, errors
from api.schemas import CaptionEdit, CueCheck, CueIssuePublic
from ingest.captions.building import cue_style
from ingest.captions.checks import check_cues
from ingest.languages import canonical_language

router = APIRouter(prefix="/v1/captions", tags=["captions"], route_class=ProducerFirstRoute,
                   responses=errors(*PRODUCER))
LanguageQuery = Annotated[str, Query(max_length=35, description="BCP-47 tag of the track")]


@router.post("/check", response_model=CueCheck, responses=errors(400))
def check(body: CaptionEdit, _: ProducerDep, language: LanguageQuery = "en") -> CueCheck:
    """Flag overlaps, reading speed and lines too long or too many, by the language's rules
    (English: 20 characters a second, 42 a line, 2 lines)."""
    style = cue_style(canonical_language(language))
    return CueCheck(issues=[CueIssuePublic(index=i.index, kind=i.kind, message=i.message)
                            for i in check_cues(body.cues, style=style)])
