"""The FastAPI application: routers, error format, request metrics."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api import access_log, errors, responses
from api.body_limit import BodyLimitMiddleware
from api.metrics import FLUSHER, RequestMetrics
from api.playlist_hits import PlaylistHits
from api.routes import (
    assets,
    caption_checks,
    captions,
    channels,
    docs,
    glossary,
    health,
    live,
    live_streams,
    play,
    speaker,
    speaker_page,
    studio,
    uploads,
    watch,
    webhooks,
)
from api.speaker_cors import SpeakerCors
from config import get_settings
from runtime import logs, process


def create_app() -> FastAPI:
    process.die_with_spawning_parent()  # one of `uvicorn --workers N`: not beyond uvicorn
    s = get_settings()
    logs.configure(s.log_format, s.log_level)
    app = FastAPI(
        docs_url=None,  # served by api.routes.docs without a CDN
        redoc_url=None,
        title="Podium",
        version="0.1.0",
        description="Video messages for live events: uploads, adaptive HLS, subtitles, channels.",
        lifespan=health.warm_checks,
        # FastAPI's own OpenTelemetry asks for the global providers on every request (a few
        # per cent of a playlist's cost); Podium's figures are its Prometheus metrics.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    errors.install(app)
    access_log.install()
    responses.install(app)
    # Innermost: a playlist hit skips routing but nothing the middlewares below add
    app.add_middleware(PlaylistHits)
    origins = [o.strip() for o in get_settings().cors_origins.split(",") if o.strip()]
    if origins:
        # Players on other sites fetch playlists and captions; nothing else crosses origins
        # (no credentials, no Authorization header allowed in preflight).
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET"],
                           allow_credentials=False, max_age=3600)
        # outermost: answers the speaker paths' preflights before the GET-only policy
        app.add_middleware(SpeakerCors, origins=origins)
    for module in (assets, uploads, speaker, speaker_page, captions, caption_checks, glossary,
                   webhooks, channels, play, live, live_streams, watch, studio, health, docs):
        app.include_router(module.router)
    app.include_router(live_streams.viewers)
    app.include_router(live_streams.hooks)

    # Next to last: no body reaches anything past the cap.
    app.add_middleware(BodyLimitMiddleware, default=get_settings().max_request_bytes,
                       routes=[*assets.BODY_LIMITS, *captions.BODY_LIMITS, *speaker.BODY_LIMITS])
    # Outermost: every answer (a 413 of the cap too) has a request id and is counted. It only
    # counts the body's bytes as they pass, never holds them.
    app.add_middleware(RequestMetrics)
    FLUSHER.ensure_running()
    return app


app = create_app()
