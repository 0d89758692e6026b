"""The captions job: speech recognition into a caption track, published as HLS subtitles.

Idempotent like the media jobs: the transcript and track go to fixed keys, and the track is
committed through ``CaptionPublisher`` under the asset's lock. A failure never touches the
asset's own status: the caption track alone ends `errored`, with the reason.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from config import get_settings
from ingest.assets.models import Asset, AssetStatus, CaptionReview, CaptionSource, Stage
from ingest.assets.store import AssetStore
from ingest.captions import asr, transcription
from ingest.captions import store as caption_store
from ingest.captions.asr import AsrError
from ingest.captions.building import build_cues, cue_style
from ingest.captions.publishing import CaptionPublisher
from ingest.captions.speech_models import SpeechModels
from ingest.errors import NotFound, PermanentError
from ingest.languages import AUTO, UNDETERMINED, asset_language, canonical_language
from ingest.lifecycle import assets as lifecycle
from ingest.storage import keys
from runtime import handles
from workers import pipeline, stages, workspace
from workers import probe as probe_job
from workers.events import asset_lifecycle

log = logging.getLogger(__name__)


def caption_asset(asset_id: str, language: str | None = None,
                  replace_human: bool = False) -> str:
    """Transcribe the asset's speech, store transcript and track, publish the subtitles."""
    store = handles.asset_store()
    try:
        asset = store.get(asset_id)
    except NotFound:
        return "gone"
    if asset.outbox:  # a run cut short after its save: its events go out now
        asset_lifecycle().flush(asset_id)
    if asset.status == AssetStatus.ERRORED or asset.source is None or not asset.source.has_audio:
        log.info("captions %s: nothing to transcribe (%s)", asset_id, asset.status.value)
        return "skipped"
    lang = asset_language(language or asset.language)
    try:
        return _caption(store, asset, lang, replace_human)
    except NotFound as exc:
        if exc.code != "asset_not_found":
            raise
        _forget(store, asset_id)
        return "gone"
    except (AsrError, PermanentError) as exc:
        log.error("captions %s (%s): %s (%s)", asset_id, lang, exc, exc.code)  # with its detail
        publisher().fail(asset_id, _failed_track(store, asset_id, lang), exc.code, exc.message)
        return "errored"


def _failed_track(store: AssetStore, asset_id: str, language: str) -> str:
    """The track a failure is shown on: with `auto`, the detected language if detection got
    that far, else `und` (undetermined)."""
    if language != AUTO:
        return language
    detected = store.get(asset_id).language
    return UNDETERMINED if detected == AUTO else canonical_language(detected)


def _caption(store: AssetStore, asset: Asset, language: str, replace_human: bool) -> str:
    transcript = _transcribe(store, asset, language, speech_models())
    language = transcript.language  # with `auto`, what was detected
    caption_store.save_transcript(store.storage, asset.id, transcript)
    cues = build_cues(transcript.words, media_end=asset.duration_s, style=cue_style(language))
    track = caption_store.StoredTrack.of(language, CaptionSource.ASR, CaptionReview.MACHINE,
                                         cues, engine=transcript.engine)
    def change(current: caption_store.StoredTrack | None) -> caption_store.StoredTrack | None:
        keep = current is not None and current.is_human and not replace_human
        return None if keep else track

    publisher().replace(asset.id, language, change)
    if store.is_deleted(asset.id):  # deleted while we wrote: leave nothing behind
        _forget(store, asset.id)
        return "gone"
    log.info("captions %s (%s): %d words, %d cues", asset.id, language,
             len(transcript.words), len(cues))
    return "ready"


def _transcribe(store: AssetStore, asset: Asset, language: str,
                models: SpeechModels) -> asr.Transcript:
    s = get_settings()
    assert asset.source is not None
    if language != AUTO:  # before fetching gigabytes
        transcription.check_language(models.for_language(language), language)
    asset_report = stages.progress_reporter(store, asset.id, Stage.CAPTIONS, 1.0,
                                          when=lambda: _asset_waits_for_captions(store, asset.id))
    track = [language]

    def report(fraction: float) -> None:
        if track[0] != AUTO:
            store.set_caption_progress(asset.id, track[0], 100.0 * fraction)
        asset_report(fraction)

    def detected(spoken: str) -> None:
        """The asset is labelled with the language heard; its track is being prepared."""
        log.info("captions %s: detected %s", asset.id, spoken)
        track[0] = spoken

        def label(a: Asset) -> None:
            a.language = spoken
            lifecycle.track_preparing(a, spoken)

        asset_lifecycle().update(asset.id, label)

    with tempfile.TemporaryDirectory(prefix=f"{asset.id}-captions-",
                                     dir=workspace.work_root()) as tmp:
        source = _fetch_source(store, asset.id, Path(tmp), asset.version)
        _video, audio_stream = probe_job.recorded_streams(asset.source, source)
        if audio_stream is None:
            raise PermanentError("The source has no audio to transcribe.",
                                 code="asset_has_no_audio")
        opts = transcription.TranscriptionOptions(
            language=language, audio_stream=audio_stream,
            glossary=caption_store.load_glossary(store.storage),
            duration_s=asset.source.duration_s,
            timeout_s=pipeline.captions_timeout_s(asset.source.duration_s), nice=s.ffmpeg_nice)
        with stages.ffmpeg_failures(
                timeout=PermanentError("Extracting the audio took longer than allowed.",
                                       code="captions_timeout"),
                failed=PermanentError("The audio could not be decoded for speech recognition.",
                                      code="audio_extract_failed")):
            return transcription.transcribe_media(source, asset.source.demuxer, Path(tmp),
                                                  models, opts, report, detected)


def _asset_waits_for_captions(store: AssetStore, asset_id: str) -> bool:
    """Caption progress is the asset's progress only while the asset waits for it (with
    captions_block_ready); otherwise the asset is ready or still in another stage."""
    asset = store.get(asset_id)
    return asset.status == AssetStatus.PREPARING and asset.progress.stage == Stage.CAPTIONS


def _fetch_source(store: AssetStore, asset_id: str, into: Path, version: int) -> Path:
    """A private copy of the source: a hard link to the pipeline's copy (which publishing
    deletes) when this host has one, else a download."""
    target = into / "source"
    cached = workspace.cached_source(asset_id, version)
    if cached is not None:
        try:
            os.link(cached, target)
            return target
        except OSError as exc:
            log.info("captions %s: cannot link the local source (%s); downloading", asset_id, exc)
    workspace.download_source(store, asset_id, target, version)
    return target


def _forget(store: AssetStore, asset_id: str) -> None:
    log.info("captions %s: asset deleted while running; removing what the job wrote", asset_id)
    store.storage.delete_prefix(keys.asset_prefix(asset_id))


def speech_models() -> SpeechModels:
    s = get_settings()
    return SpeechModels(s.data_dir.resolve(), s.asr_threads, s.asr_model_dir, s.asr_model_dirs)


def publisher() -> CaptionPublisher:
    s = get_settings()
    return CaptionPublisher(asset_lifecycle(), float(s.segment_duration_s))


def on_captions_failure(job: Any, connection: Any, exc_type: type[BaseException],
                        exc: BaseException, tb: TracebackType | None) -> None:
    """RQ failure callback: once no retry is left, the track (never the asset) is errored."""
    if job.retries_left:
        return
    asset_id, language = str(job.args[0]), job.args[1] if len(job.args) > 1 else None
    log.error("job %s failed for good: %s: %s", job.id, exc_type.__name__, exc)
    with contextlib.suppress(NotFound):  # deleted meanwhile: nothing to mark
        store = handles.asset_store()
        lang = _failed_track(store, asset_id,
                             asset_language(language or store.get(asset_id).language))
        publisher().fail(asset_id, lang, "captions_failed",
                         f"Speech recognition failed after retries ({exc_type.__name__}).")
