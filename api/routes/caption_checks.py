"""`/v1/captions/check`: the caption editor's cue check, on cues not saved yet (producers)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ProducerDep, ProducerFirstRoute
from api.responses import PRODUCER, errors
from api.schemas import CaptionEdit, CueCheck, CueIssuePublic
from ingest.captions.checks import check_cues

router = APIRouter(prefix="/v1/captions", tags=["captions"], route_class=ProducerFirstRoute,
                   responses=errors(*PRODUCER))


@router.post("/check", response_model=CueCheck)
def check(body: CaptionEdit, _: ProducerDep) -> CueCheck:
    """Flag overlaps, reading speed over 20 characters a second, and lines too long or many."""
    return CueCheck(issues=[CueIssuePublic(index=i.index, kind=i.kind, message=i.message)
                            for i in check_cues(body.cues)])
