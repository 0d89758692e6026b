"""`/v1/live-streams`: speakers who join live (producer), and the RTMP server's callbacks.

The callbacks (`/internal/rtmp/{secret}/...`) are called by nginx-rtmp only: the secret in the
path is in its generated config and nowhere else. nginx lets a publisher go on while they
answer 2xx and drops it otherwise.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ProducerDep, ProducerFirstRoute, SettingsDep
from api.responses import PRODUCER, errors
from api.schemas import InvalidField, LiveStreamCreate, LiveStreamList, LiveStreamPublic
from config import Settings
from ingest.errors import Conflict, Forbidden, NotFound
from ingest.hls.playlists import M3U8_TYPE
from ingest.lifecycle.live import LiveLifecycle
from ingest.live.hls import (
    LiveHls,
    LiveSegment,
    media_playlist,
    multivariant,
    segment_name,
    subtitle_playlist,
    subtitle_segment_name,
)
from ingest.live.models import EndReason, LiveStream, new_live_stream_id, new_stream_key
from ingest.live.rtmp import internal_name
from ingest.live.store import LiveStreamStore
from ingest.storage import keys
from runtime import handles
from workers import pipeline
from workers.events import live_lifecycle

log = logging.getLogger(__name__)
LiveDep = Annotated[LiveLifecycle, Depends(live_lifecycle)]
LiveStoreDep = Annotated[LiveStreamStore, Depends(handles.live_store)]

router = APIRouter(prefix="/v1/live-streams", tags=["live streams"],
                   route_class=ProducerFirstRoute, responses=errors(*PRODUCER, 503))
hooks = APIRouter(prefix="/internal/rtmp", include_in_schema=False)


def _public(stream: LiveStream, settings: Settings) -> LiveStreamPublic:
    srt = None
    if stream.srt_port is not None:
        srt = (f"srt://{settings.srt_public_host}:{stream.srt_port}?streamid={stream.stream_key}"
               f"&passphrase={stream.stream_key}")
    return LiveStreamPublic.of(stream, settings.rtmp_ingest_base, settings.public_url, srt)


@router.post("", status_code=201, response_model=LiveStreamPublic, responses=errors(400))
def create_live_stream(body: LiveStreamCreate, _: ProducerDep, settings: SettingsDep,
                       live: LiveDep) -> LiveStreamPublic:
    """A live stream with a secret stream key and the URLs the speaker publishes to."""
    window = body.reconnect_window_s
    longest = settings.live_max_duration_s
    if body.max_duration_s is not None and body.max_duration_s > longest:
        raise InvalidField(f"'max_duration_s' may be at most {longest:g} s (the service's "
                           f"limit).", code="invalid_max_duration")
    stream_id = new_live_stream_id()
    srt_port = live.store.claim_srt_port(stream_id, settings.srt_port_range)
    stream = live.create(LiveStream(
        id=stream_id, title=body.title, speaker=body.speaker, language=body.language,
        stream_key=new_stream_key(),
        reconnect_window_s=settings.live_reconnect_window_s if window is None else window,
        max_duration_s=body.max_duration_s or longest, srt_port=srt_port))
    return _public(stream, settings)


@router.get("", response_model=LiveStreamList)
def list_live_streams(_: ProducerDep, settings: SettingsDep, live: LiveDep) -> LiveStreamList:
    """Every live stream, newest first."""
    return LiveStreamList(items=[_public(s, settings) for s in live.store.list()])


@router.get("/{stream_id}", response_model=LiveStreamPublic, responses=errors(404))
def get_live_stream(stream_id: str, _: ProducerDep, settings: SettingsDep,
                    live: LiveDep) -> LiveStreamPublic:
    """One live stream: its status, and the recording's asset once it exists."""
    stream = live.settle(stream_id)
    return _public(stream, settings)


@router.delete("/{stream_id}", response_model=LiveStreamPublic, responses=errors(404))
def end_live_stream(stream_id: str, _: ProducerDep, settings: SettingsDep,
                    live: LiveDep) -> LiveStreamPublic:
    """Revoke the key and end the stream: a publisher on it is dropped within seconds."""
    return _public(live.end(stream_id, EndReason.DELETED), settings)


# --- viewers --------------------------------------------------------------------------------
viewers = APIRouter(prefix="/live-streams", tags=["live streams"],
                    responses=errors(404, 422, 503))
PLAYLIST: dict[int | str, dict[str, Any]] = {200: {"content": {M3U8_TYPE: {}}}}
STATE_TTL_S = 0.5
"""A state read from the bucket answers the requests of the next half second (segments are
2 s): many viewers cost one GET per API process."""
_states: dict[str, tuple[float, LiveHls]] = {}
_states_guard = threading.Lock()


class LiveNotStarted(NotFound):
    code = "live_stream_not_started"


def _state(store: LiveStreamStore, stream_id: str) -> LiveHls:
    hit = _states.get(stream_id)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    store.get(stream_id)  # 404 for an unknown id
    try:
        hls = LiveHls.model_validate_json(store.storage.get_bytes(keys.live_state(stream_id)))
    except NotFound as exc:
        raise LiveNotStarted("This live stream has not started yet; try again shortly.") from exc
    with _states_guard:
        if len(_states) > 1000:
            _states.clear()
        _states[stream_id] = (now + STATE_TTL_S, hls)
    return hls


def _live_answer(body: str) -> Response:
    return Response(body, media_type=M3U8_TYPE, headers={"Cache-Control": "max-age=1"})


@viewers.get("/{stream_id}.m3u8", response_class=Response, responses=PLAYLIST)
def live_stream_multivariant(stream_id: str, settings: SettingsDep,
                             store: LiveStoreDep) -> Response:
    """The live stream's multivariant playlist: one variant per rung (none taller than the
    source), and the live captions' subtitle rendition."""
    hls = _state(store, stream_id)
    base = f"{settings.public_url.rstrip('/')}/live-streams/{stream_id}"
    return _live_answer(multivariant(hls, lambda r: f"{base}/{r.name}.m3u8",
                                     lambda c: f"{base}/{c.rendition}.m3u8"))


@viewers.get("/{stream_id}/{rendition}.m3u8", response_class=Response, responses=PLAYLIST)
def live_stream_media(stream_id: str, rendition: str, settings: SettingsDep,
                      store: LiveStoreDep) -> Response:
    """A media playlist: the last segments, EXT-X-PROGRAM-DATE-TIME, discontinuities where the
    speaker left or came back; EXT-X-ENDLIST once the stream ended. `subs-{lang}`: the live
    captions, segment for segment, as far as recognition has come."""
    hls = _state(store, stream_id)
    storage = store.storage
    ttl = settings.presign_ttl_s
    if hls.captions is not None and rendition == hls.captions.rendition:
        def vtt(segment: LiveSegment) -> str:
            return storage.presign_get(keys.live_hls_object(
                stream_id, f"{rendition}/{subtitle_segment_name(segment.seq)}"), ttl)
        return _live_answer(subtitle_playlist(hls, settings.live_window_segments, vtt))
    if hls.rendition(rendition) is None:
        raise NotFound("No such rendition.", code="rendition_not_found")

    def uri(segment: LiveSegment) -> str:
        return storage.presign_get(
            keys.live_hls_object(stream_id, f"{rendition}/{segment_name(segment.seq)}"), ttl)
    return _live_answer(media_playlist(hls, settings.live_window_segments, uri))


# --- the RTMP server's callbacks ------------------------------------------------------------
async def _form(request: Request, settings: Settings, secret: str) -> dict[str, str]:
    if not hmac.compare_digest(secret.encode(), settings.rtmp_hook_secret.encode()):
        raise NotFound("Not found.")
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    return {name: values[0] for name, values in fields.items() if values}


def _publisher(form: dict[str, str]) -> str:
    return f"{form.get('addr', '?')}#{form.get('clientid', '?')}"


def _refusal(exc: Forbidden | Conflict | NotFound, form: dict[str, str]) -> Response:
    log.info("rtmp %s refused from %s: %s", form.get("call"), form.get("addr"), exc.code)
    status = 409 if isinstance(exc, Conflict) else 403
    return Response(exc.code, status_code=status, media_type="text/plain")


@hooks.post("/{secret}/publish")
async def on_publish(secret: str, request: Request, settings: SettingsDep,
                     live: LiveDep) -> Response:
    """A known, open key that nobody else publishes right now is let in, redirected (3xx) to
    the stream's internal name: workers play that, never the key (ingest.live.rtmp)."""
    form = await _form(request, settings, secret)
    try:
        stream = await run_in_threadpool(live.publish, form.get("name", ""), _publisher(form))
    except (Forbidden, Conflict, NotFound) as exc:
        return _refusal(exc, form)
    log.info("live stream %s: publishing from %s", stream.id, form.get("addr"))
    return Response(status_code=302, headers={"Location": internal_name(stream.id)})


@hooks.post("/{secret}/publish_done")
async def on_publish_done(secret: str, request: Request, settings: SettingsDep,
                          live: LiveDep) -> Response:
    """The publisher went away: the stream waits for it (its reconnect window)."""
    form = await _form(request, settings, secret)
    await run_in_threadpool(live.publish_done, form.get("name", ""), _publisher(form))
    return Response(status_code=204)


@hooks.post("/{secret}/update")
async def on_update(secret: str, request: Request, settings: SettingsDep,
                    live: LiveDep) -> Response:
    """Every few seconds while publishing: anything but 2xx makes nginx drop the publisher."""
    form = await _form(request, settings, secret)
    if form.get("call") != "update_publish":
        return Response(status_code=204)
    try:
        stream = await run_in_threadpool(live.still_allowed, form.get("name", ""),
                                         _publisher(form))
    except (Forbidden, Conflict, NotFound) as exc:
        return _refusal(exc, form)
    # the transcoder's worker may have died: another one takes the stream over
    await run_in_threadpool(pipeline.ensure_live_transcoder, handles.redis_connection(),
                            stream.id)
    return Response(status_code=204)
