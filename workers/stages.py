"""What every media job shares: entering a stage, turning its outcome into the asset's state,
live progress, ffmpeg's failures as outcomes, and the failure callback once retries run out.

A job reloads the asset by id and returns quietly when it was deleted or has already moved on.
Permanent errors end the asset `errored` with a code; transient ones raise, so RQ retries them
(workers.pipeline declares how). Status changes go through the lifecycle (ingest.lifecycle),
which emits `asset.ready` / `asset.errored` once they are saved."""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from ingest.assets.models import Asset, AssetStatus, Stage
from ingest.assets.store import AssetStore
from ingest.errors import FfmpegFailed, FfmpegTimeout, NotFound, PermanentError
from ingest.lifecycle import assets as lifecycle
from ingest.lifecycle.assets import AssetLifecycle
from ingest.lifecycle.machine import InvalidTransition
from ingest.media import pertitle
from ingest.media.ladder import Rendition, select_renditions
from ingest.storage import keys
from workers import pipeline, workspace
from workers.events import asset_lifecycle

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 1.0
TRANSCODE_JOBS = ("transcode-", "chunk-", "audio-", "stitch-")
"""Jobs whose failure ends the asset's transcode (one job, or the pieces of a chunked one)."""


class AssetGone(Exception):
    """The asset was deleted while the job ran: stop quietly."""


def run_stage(asset_id: str, stage: Stage, runnable: set[AssetStatus],
               body: Callable[[AssetLifecycle, Asset], str]) -> str:
    """Load the asset, enter the stage, run it, and turn the outcome into the asset's state."""
    assets = asset_lifecycle()
    store = assets.store
    try:
        asset = store.get(asset_id)
    except NotFound:
        log.info("%s %s: asset is gone, nothing to do", stage.value, asset_id)
        return "gone"
    if asset.status not in runnable or (stage != Stage.PROBE and asset.source is None):
        log.info("%s %s: asset is %s, nothing to do", stage.value, asset_id, asset.status.value)
        if asset.outbox:  # a run cut short after its save: its events go out now
            assets.flush(asset_id)
        return "skipped"

    def enter(a: Asset) -> None:
        lifecycle.enter_stage(a, stage)
        a.attempts += 1

    try:
        asset = assets.update(asset_id, enter)
        store.set_progress(asset_id, stage, 0)
        return body(assets, asset)
    except (AssetGone, NotFound) as exc:
        if isinstance(exc, NotFound) and exc.code != "asset_not_found":
            raise
        log.info("%s %s: asset deleted while running; removing what the job wrote",
                 stage.value, asset_id)
        store.storage.delete_prefix(keys.asset_prefix(asset_id))
        workspace.clean(asset_id)
        return "gone"
    except PermanentError as exc:
        log.error("%s %s: %s (%s)", stage.value, asset_id, exc, exc.code)  # with its detail
        mark_errored(assets, asset_id, exc.code, exc.message)
        return "errored"


def mark_errored(assets: AssetLifecycle, asset_id: str, code: str, message: str) -> None:
    failed = assets.update(asset_id, lambda a: lifecycle.fail(a, code, message))
    # the source stays, and so does an earlier version that still plays
    assets.store.storage.delete_prefix(keys.hls_prefix(asset_id, failed.version))
    assets.store.storage.delete_prefix(keys.chunks_prefix(asset_id, failed.version))
    workspace.clean(asset_id)


def on_job_failure(job: Any, connection: Any, exc_type: type[BaseException],
                   exc: BaseException, tb: TracebackType | None) -> None:
    """RQ failure callback: once no retry is left, the asset ends `errored` (never stuck)."""
    if job.retries_left:
        return
    asset_id = str(job.args[0])
    log.error("job %s failed for good: %s: %s", job.id, exc_type.__name__, exc)
    assets = asset_lifecycle()
    try:
        owner = assets.store.get(asset_id).owner
        mark_errored(assets, asset_id, "processing_failed",
                     f"Processing failed after retries ({exc_type.__name__}).")
    except NotFound:  # deleted meanwhile: nothing to mark
        return
    except InvalidTransition as exc_state:  # already ready or errored: a final state stays
        log.info("job %s: %s", job.id, exc_state.message)
    if str(job.id).startswith(("chunk-", "audio-")):
        # a piece of a chunked transcode is lost for good: the stitch will never run
        pipeline.cancel_all(assets.store.redis, asset_id)
    if owner is not None and str(job.id).startswith(TRANSCODE_JOBS):
        # that transcode is over: the next of its key may enter the queue
        pipeline.transcode_ended(assets.store.redis, assets.store, owner, asset_id)


def progress_reporter(store: AssetStore, asset_id: str, stage: Stage, total: float,
                      when: Callable[[], bool] = lambda: True) -> Callable[[float], None]:
    """A callback that records ``done / total`` as the stage's live percent, at most once a
    second and only while ``when()`` holds."""
    last = [0.0]

    def report(done: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            if store.is_deleted(asset_id):
                raise AssetGone(asset_id)  # stops ffmpeg now rather than at the end
            if when():
                store.set_progress(asset_id, stage, 100.0 * min(1.0, done / max(total, 0.001)))
    return report


@contextmanager
def ffmpeg_failures(*, timeout: PermanentError, failed: PermanentError) -> Iterator[None]:
    """ffmpeg's failures as a job's outcome: running too long and undecodable input are
    permanent (the given errors); killed by a signal (OOM, operator) is transient, re-raised
    for RQ to retry."""
    try:
        yield
    except FfmpegTimeout as exc:
        raise timeout from exc
    except FfmpegFailed as exc:
        if exc.killed_by_signal:
            raise
        raise failed from exc


def plans_for(asset: Asset) -> list[Rendition]:
    """The ladder for the asset's source, at the per-title rates chosen for it, if any."""
    src = asset.source
    assert src is not None and src.width and src.height
    # every rendition has audio: a source without it gets silence (commands.hls_ladder_command)
    plans = select_renditions(src.width, src.height, src.fps, has_audio=True)
    return pertitle.apply_video_kbps(plans, asset.video_kbps) if asset.video_kbps else plans


def children_cpu_s() -> float:
    """CPU seconds (user + system) of this process's finished children: taken before and
    after an ffmpeg run, what that run cost whatever else the machine was doing."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
