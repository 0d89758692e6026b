"""`/v1/assets/{id}/captions` and `/transcript`: caption files, review, speech recognition.

Reading (`.vtt`, `.srt`, the transcript) follows playback: anyone for a public asset, the
playback token (`?token=`) for a private one, and producers (API key) always. Everything that
changes a track needs the producer's key, and republishes the asset's subtitle rendition and
multivariant playlist before it answers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.body_limit import RouteLimit
from api.deps import (
    ProducerDep,
    ProducerFirstRoute,
    RedisDep,
    SettingsDep,
    StoreDep,
    is_producer_request,
    producer_of,
)
from api.responses import PRODUCER, errors
from api.routes.play import TokenQuery, playable
from api.schemas import CaptionEdit, CaptionTrackDetail, TranscriptPublic, TranslateRequest
from config import Settings
from ingest.assets.models import (
    Asset,
    CaptionReview,
    CaptionSource,
    CaptionStatus,
    CaptionTrack,
    Visibility,
)
from ingest.assets.store import AssetStore
from ingest.captions import store as caption_store
from ingest.captions import translation
from ingest.captions.files import CaptionError, parse_captions, to_srt, to_webvtt
from ingest.captions.publishing import CaptionPublisher
from ingest.captions.store import StoredTrack
from ingest.errors import Conflict, TooLarge
from ingest.languages import canonical_language
from workers import pipeline
from workers.events import asset_lifecycle

router = APIRouter(prefix="/v1/assets", tags=["captions"], route_class=ProducerFirstRoute,
                   responses=errors(*PRODUCER, 404, 503))
# Bodies read as they stream (read_capped), not by FastAPI: described here.
CAPTION_BODY = {"requestBody": {"required": True, "content": {
    media: {"schema": {"type": "string"}} for media in ("application/x-subrip", "text/vtt")}}}
AuthHeader = Annotated[str | None, Header(alias="Authorization")]
TranslationOf = Annotated[str | None, Query(
    max_length=35, description="The language of the track this file translates")]
TemplateFormatQuery = Annotated[translation.TemplateFormat, Query()]
BODY_LIMITS = [RouteLimit("PUT", "/v1/assets/{asset_id}/captions/{lang}",
                          lambda s: s.max_caption_bytes, code="caption_too_large")]
"""Caption files have their own limit (read_capped enforces it with a specific code)."""


class NoAudio(Conflict):
    code = "asset_has_no_audio"


def _publisher(settings: Settings) -> CaptionPublisher:
    """Track changes through the lifecycle: `captions.ready` goes out once a track is saved."""
    return CaptionPublisher(asset_lifecycle(), float(settings.segment_duration_s))


def _published(store: AssetStore, asset_id: str) -> Asset:
    """Tracks are segmented against the packaged video, so it must exist first."""
    asset = store.get(asset_id)
    if not asset.renditions:
        raise Conflict(f"Asset {asset_id} is {asset.status.value}; captions can be changed "
                       "once it has been published.", code="asset_not_ready")
    return asset


def _readable(store: AssetStore, settings: Settings, asset_id: str, token: str | None,
              request: Request) -> Asset:
    """Producers (key or studio session) read any asset; viewers what they may play."""
    if is_producer_request(request):
        producer_of(settings, request)
        return store.get(asset_id)
    return playable(store, settings, asset_id, token)


def _track_file(store: AssetStore, settings: Settings, asset_id: str, lang: str,
                token: str | None, request: Request) -> tuple[StoredTrack, dict[str, str]]:
    """The track and the answer's headers: a private asset's track is fetched by URLs without
    a token too (producers), so no shared cache may keep it."""
    asset = _readable(store, settings, asset_id, token, request)
    track = caption_store.load_track(store.storage, asset_id, canonical_language(lang))
    private = "" if asset.visibility == Visibility.PUBLIC else "private, "
    return track, {"Cache-Control": f"{private}max-age=10"}


@router.get("/{asset_id}/captions/{lang}.vtt", response_class=Response,
            responses={200: {"content": {"text/vtt": {}}}})
def caption_vtt(asset_id: str, lang: str, request: Request, settings: SettingsDep,
                store: StoreDep, token: TokenQuery = None,
                authorization: AuthHeader = None) -> Response:
    """The track as WebVTT."""
    track, headers = _track_file(store, settings, asset_id, lang, token, request)
    return Response(to_webvtt(track.cues), media_type="text/vtt", headers=headers)


@router.get("/{asset_id}/captions/{lang}.srt", response_class=Response,
            responses={200: {"content": {"application/x-subrip": {}}}})
def caption_srt(asset_id: str, lang: str, request: Request, settings: SettingsDep,
                store: StoreDep, token: TokenQuery = None,
                authorization: AuthHeader = None) -> Response:
    """The track as SubRip."""
    track, headers = _track_file(store, settings, asset_id, lang, token, request)
    return Response(to_srt(track.cues), media_type="application/x-subrip", headers=headers)


@router.get("/{asset_id}/captions/{lang}", response_model=CaptionTrackDetail)
def caption_detail(asset_id: str, lang: str, _: ProducerDep, store: StoreDep) -> CaptionTrackDetail:
    """The track with its cues and review state, for reviewers."""
    language = canonical_language(lang)
    entry = store.get(asset_id).caption(language)
    if entry is None:
        raise caption_store.CaptionNotFound.of(asset_id, language)
    return CaptionTrackDetail.of(entry, caption_store.load_track(store.storage, asset_id, language))


async def read_capped(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it passes ``limit`` (whatever Content-Length says)."""
    declared = request.headers.get("content-length", "")
    too_large = TooLarge(f"The caption file is larger than the limit of {limit} bytes.",
                         code="caption_too_large")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


@router.put("/{asset_id}/captions/{lang}", response_model=CaptionTrack,
            responses=errors(409, 415, 422), openapi_extra=CAPTION_BODY)
async def upload_captions(asset_id: str, lang: str, request: Request, _: ProducerDep,
                          settings: SettingsDep, store: StoreDep,
                          translation_of: TranslationOf = None) -> CaptionTrack:
    """Replace the track with an SRT or WebVTT file, parsed strictly and stored re-serialised.

    With `?translation_of={source language}`, the body is a translated template (SRT, WebVTT,
    XLIFF or JSON, see `.../template`): its texts, cue by cue, over the source track's times.
    """
    language = canonical_language(lang)
    await run_in_threadpool(_published, store, asset_id)
    body = await read_capped(request, settings.max_caption_bytes)
    # Parsing costs up to seconds for a file at the size limit: never on the event loop.
    if translation_of is not None:
        source = await run_in_threadpool(_translation_source, store, asset_id,
                                         translation_of, language)
        track = await run_in_threadpool(_translated_track, body, language, source, settings)
    else:
        track = await run_in_threadpool(_uploaded_track, body, language, settings)
    return await run_in_threadpool(
        _publisher(settings).replace, asset_id, language, lambda _current: track)


def _translation_source(store: AssetStore, asset_id: str, source_tag: str,
                        language: str) -> StoredTrack:
    source_language = canonical_language(source_tag)
    if source_language == language:
        raise CaptionError("translation_mismatch",
                           "a track cannot be a translation of itself")
    entry = store.get(asset_id).caption(source_language)
    if entry is None or entry.status == CaptionStatus.ERRORED:
        raise caption_store.CaptionNotFound.of(asset_id, source_language)
    return caption_store.load_track(store.storage, asset_id, source_language)


def _translated_track(body: bytes, language: str, source: StoredTrack,
                      settings: Settings) -> StoredTrack:
    cues = translation.translated_cues(body, source.cues, settings.max_caption_bytes)
    return StoredTrack.of(language, CaptionSource.UPLOAD, CaptionReview.EDITED, cues,
                          translation_of=source.language)


@router.get("/{asset_id}/captions/{lang}/template", response_class=Response,
            responses=errors(422) | {200: {"content": {
                media: {"schema": {"type": "string"}}
                for media in translation.TEMPLATE_TYPES.values()}}})
def translation_template(asset_id: str, lang: str, _: ProducerDep, store: StoreDep,
                         format: TemplateFormatQuery = "srt") -> Response:
    """The track as a template for translators: numbered cues with their times and text
    (SRT, XLIFF 1.2 or JSON). Upload the translation with `PUT .../captions/{target}
    ?translation_of={lang}`: it keeps these times."""
    language = canonical_language(lang)
    entry = store.get(asset_id).caption(language)
    if entry is None or entry.status == CaptionStatus.ERRORED:
        raise caption_store.CaptionNotFound.of(asset_id, language)
    track = caption_store.load_track(store.storage, asset_id, language)
    text = translation.template(track.cues, format, language, asset_id)
    name = f"{asset_id}-{language}.{'xlf' if format == 'xliff' else format}"
    return Response(text, media_type=f"{translation.TEMPLATE_TYPES[format]}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/{asset_id}/captions/{lang}/translate", response_model=CaptionTrack,
             responses=errors(400, 409, 422))
def machine_translate(asset_id: str, lang: str, body: TranslateRequest, _: ProducerDep,
                      settings: SettingsDep, store: StoreDep) -> CaptionTrack:
    """Machine-translate the track into `to` with the model of PODIUM_MT_MODEL_DIR; without
    one, 409 `translation_unavailable` (translations then come from people)."""
    translator = translation.machine_translator(settings.mt_model_dir)
    target = canonical_language(body.to)
    _published(store, asset_id)
    source = _translation_source(store, asset_id, lang, target)
    cues = translation.machine_translated(source.cues, translator, source.language, target)
    track = StoredTrack.of(target, CaptionSource.ASR, CaptionReview.MACHINE, cues,
                           engine=translator.name, translation_of=source.language)
    return _publisher(settings).replace(asset_id, target, lambda _current: track)


def _uploaded_track(body: bytes, language: str, settings: Settings) -> StoredTrack:
    cues = parse_captions(body, settings.max_caption_bytes)
    caption_store.check_cue_count(cues, settings.max_caption_cues)
    return StoredTrack.of(language, CaptionSource.UPLOAD, CaptionReview.EDITED, cues)


@router.patch("/{asset_id}/captions/{lang}", response_model=CaptionTrack,
              responses=errors(400, 409))
def edit_captions(asset_id: str, lang: str, edit: CaptionEdit, _: ProducerDep,
                  settings: SettingsDep, store: StoreDep) -> CaptionTrack:
    """Review: replace the track's cues (text and times); the track becomes `edited`."""
    language = canonical_language(lang)
    _published(store, asset_id)
    cues = caption_store.edited_cues(edit.cues, settings.max_caption_cues)
    return _publisher(settings).replace(
        asset_id, language, lambda current: _existing(current, asset_id, language).revised(
            CaptionReview.EDITED, cues))


@router.post("/{asset_id}/captions/{lang}/approve", response_model=CaptionTrack,
             responses=errors(409))
def approve_captions(asset_id: str, lang: str, _: ProducerDep, settings: SettingsDep,
                     store: StoreDep) -> CaptionTrack:
    """Review: a person vouches for the track as it stands."""
    language = canonical_language(lang)
    _published(store, asset_id)
    return _publisher(settings).replace(
        asset_id, language,
        lambda current: _existing(current, asset_id, language).revised(CaptionReview.APPROVED))


def _existing(current: StoredTrack | None, asset_id: str, language: str) -> StoredTrack:
    if current is None:
        raise caption_store.CaptionNotFound.of(asset_id, language)
    return current


@router.delete("/{asset_id}/captions/{lang}", status_code=204, responses=errors(409))
def delete_captions(asset_id: str, lang: str, _: ProducerDep, settings: SettingsDep,
                    store: StoreDep) -> Response:
    """Remove the track and its subtitle rendition."""
    _publisher(settings).remove(asset_id, canonical_language(lang))
    return Response(status_code=204)


@router.post("/{asset_id}/captions/{lang}/generate", status_code=202, response_model=CaptionTrack,
             responses=errors(409))
def generate_captions(asset_id: str, lang: str, _: ProducerDep, settings: SettingsDep,
                      store: StoreDep, redis: RedisDep) -> CaptionTrack:
    """Run speech recognition; its track replaces the current one (even an edited one)."""
    language = canonical_language(lang)
    asset = _published(store, asset_id)
    if asset.source is None or not asset.source.has_audio:
        raise NoAudio(f"Asset {asset_id} has no audio to transcribe.")
    if pipeline.captions_running(redis, asset_id):
        raise Conflict(f"Speech recognition is already running for asset {asset_id}.",
                       code="captions_in_progress")
    entry = _publisher(settings).set_preparing(asset_id, language)
    pipeline.captions(redis, asset_id, asset.source.duration_s, language, replace_human=True)
    return entry


@router.get("/{asset_id}/transcript", response_model=TranscriptPublic)
def transcript(asset_id: str, request: Request, settings: SettingsDep, store: StoreDep,
               token: TokenQuery = None, authorization: AuthHeader = None) -> TranscriptPublic:
    """What speech recognition heard, word by word with times in seconds."""
    _readable(store, settings, asset_id, token, request)
    return TranscriptPublic.of(caption_store.load_transcript(store.storage, asset_id))
