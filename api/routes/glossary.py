"""`/v1/glossary`: names and terms speech recognition should know (producers).

One glossary for the deployment (Podium runs one event at a time): speaker, company and product
names. Caption jobs read it when they start, as Whisper's hot words or initial prompt.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ProducerDep, ProducerFirstRoute, SettingsDep, StorageDep
from api.responses import PRODUCER, errors
from api.schemas import Glossary
from ingest.captions import store as caption_store

router = APIRouter(prefix="/v1/glossary", tags=["captions"], route_class=ProducerFirstRoute,
                   responses=errors(*PRODUCER, 503))


@router.get("", response_model=Glossary)
def get_glossary(_: ProducerDep, storage: StorageDep) -> Glossary:
    """The current glossary (empty until set)."""
    return Glossary(terms=caption_store.load_glossary(storage))


@router.put("", response_model=Glossary, responses=errors(400))
def put_glossary(body: Glossary, _: ProducerDep, settings: SettingsDep,
                 storage: StorageDep) -> Glossary:
    """Replace the glossary; terms are trimmed and de-duplicated, within the configured caps."""
    terms = caption_store.clean_glossary(body.terms, settings.glossary_max_terms,
                                         settings.glossary_max_term_chars)
    caption_store.save_glossary(storage, terms)
    return Glossary(terms=terms)
