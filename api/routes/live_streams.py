"""`/v1/live-streams`: speakers who join live (producer), and the RTMP server's callbacks.

The callbacks (`/internal/rtmp/{secret}/...`) are called by nginx-rtmp only: the secret in the
path is in its generated config and nowhere else. nginx lets a publisher go on while they
answer 2xx and drops it otherwise.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ProducerDep, ProducerFirstRoute, SettingsDep
from api.responses import PRODUCER, errors
from api.schemas import LiveStreamCreate, LiveStreamList, LiveStreamPublic
from config import Settings
from ingest.errors import Conflict, Forbidden, NotFound
from ingest.lifecycle.live import LiveLifecycle
from ingest.live.models import EndReason, LiveStream, new_live_stream_id, new_stream_key
from workers.events import live_lifecycle

log = logging.getLogger(__name__)
LiveDep = Annotated[LiveLifecycle, Depends(live_lifecycle)]

router = APIRouter(prefix="/v1/live-streams", tags=["live streams"],
                   route_class=ProducerFirstRoute, responses=errors(*PRODUCER, 503))
hooks = APIRouter(prefix="/internal/rtmp", include_in_schema=False)


def _public(stream: LiveStream, settings: Settings) -> LiveStreamPublic:
    return LiveStreamPublic.of(stream, settings.rtmp_ingest_base, settings.public_url)


@router.post("", status_code=201, response_model=LiveStreamPublic, responses=errors(400))
def create_live_stream(body: LiveStreamCreate, _: ProducerDep, settings: SettingsDep,
                       live: LiveDep) -> LiveStreamPublic:
    """A live stream with a secret stream key and the URLs the speaker publishes to."""
    window = body.reconnect_window_s
    stream = live.create(LiveStream(
        id=new_live_stream_id(), title=body.title, speaker=body.speaker,
        stream_key=new_stream_key(),
        reconnect_window_s=settings.live_reconnect_window_s if window is None else window,
        max_duration_s=settings.live_max_duration_s))
    return _public(stream, settings)


@router.get("", response_model=LiveStreamList)
def list_live_streams(_: ProducerDep, settings: SettingsDep, live: LiveDep) -> LiveStreamList:
    """Every live stream, newest first."""
    return LiveStreamList(items=[_public(s, settings) for s in live.store.list()])


@router.get("/{stream_id}", response_model=LiveStreamPublic, responses=errors(404))
def get_live_stream(stream_id: str, _: ProducerDep, settings: SettingsDep,
                    live: LiveDep) -> LiveStreamPublic:
    """One live stream: its status, and the recording's asset once it exists."""
    stream = live.expire_if_due(stream_id)
    return _public(stream, settings)


@router.delete("/{stream_id}", response_model=LiveStreamPublic, responses=errors(404))
def end_live_stream(stream_id: str, _: ProducerDep, settings: SettingsDep,
                    live: LiveDep) -> LiveStreamPublic:
    """Revoke the key and end the stream: a publisher on it is dropped within seconds."""
    return _public(live.end(stream_id, EndReason.DELETED), settings)


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
    """2xx lets the publisher in: a known, open key that nobody else publishes right now."""
    form = await _form(request, settings, secret)
    try:
        stream = await run_in_threadpool(live.publish, form.get("name", ""), _publisher(form))
    except (Forbidden, Conflict, NotFound) as exc:
        return _refusal(exc, form)
    log.info("live stream %s: publishing from %s", stream.id, form.get("addr"))
    return Response(status_code=204)


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
        await run_in_threadpool(live.still_allowed, form.get("name", ""), _publisher(form))
    except (Forbidden, Conflict, NotFound) as exc:
        return _refusal(exc, form)
    return Response(status_code=204)
