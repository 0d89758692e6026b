"""Live stream jobs: the live transcoder, the end of a reconnect window.

`transcode_live` runs for the whole life of a stream on one worker, holding the stream's lease
(ingest.live.lease). It loops on the stream's status:

    active        probe the RTMP stream, then one ffmpeg into the ladder until the publisher
                  goes away (a stream it cannot read: the publisher is dropped)
    disconnected  one ffmpeg making the "be right back" slate in the same ladder, until the
                  speaker is back or the window ends
    ended         the playlists get EXT-X-ENDLIST; the recording is queued

Every run continues the same media sequence after a discontinuity. If the worker dies, the
lease lapses and the RTMP server's next on_update queues a job on another worker, which loads
the state from the bucket and carries on.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path

from config import get_settings
from ingest.assets.models import Asset, new_asset_id
from ingest.captions import store as caption_store
from ingest.captions import transcription
from ingest.captions.asr import AsrError, SpeechRecognizer
from ingest.captions.speech_models import SpeechModels
from ingest.errors import FfmpegFailed, FfmpegTimeout, InvalidMedia, NotFound, PodiumError
from ingest.live import lease as leases
from ingest.live.captioning import CaptionerOptions, LiveCaptioner
from ingest.live.hls import LiveCaptions, LiveHls, LiveSegment, segment_name
from ingest.live.models import LiveStatus, LiveStream
from ingest.live.rtmp import internal_name
from ingest.live.transcoding import (
    RunOptions,
    parse_live_probe,
    run_to_storage,
    store_playlists,
    validate_live,
)
from ingest.media import commands, ffmpeg
from ingest.media.ladder import select_renditions
from ingest.media.probe import MediaInfo
from ingest.storage import keys
from runtime import handles
from workers import metrics, pipeline
from workers.events import asset_lifecycle, live_lifecycle
from workers.workspace import work_dir

log = logging.getLogger(__name__)
SLATE_TEXT = "We'll be right back"
PROBE_TIMEOUT_S = 12
PROBE_RETRY_S = 0.5
STALL_MIN_S = 12.0
STALL_SEGMENTS = 5
"""A speaker's run that makes no segment for max(STALL_MIN_S, this many segments) is cut and
its publisher dropped."""
STATUS_POLL_S = 0.3
RECORDING_TIMEOUT_S = 1800
CAPTIONS_FLUSH_S = 20.0
"""How long the end of a stream waits for its live captions to hear the last words before its
playlists get EXT-X-ENDLIST (viewers wait at the last segment meanwhile): a little more than
captions may lag before they skip ahead (ingest.live.captioning)."""


def live_recognizer(language: str) -> SpeechRecognizer | None:
    """The recognizer for a live stream's language, chosen as for recorded messages (tiny.en
    for English, base for the rest, or the configured models), or None (logged) when no
    installed model can hear it: the stream then goes on without live captions."""
    s = get_settings()
    models = SpeechModels(s.data_dir.resolve(), s.live_captions_threads, s.asr_model_dir,
                          s.asr_model_dirs)
    try:
        recognizer = models.for_language(language)
        transcription.check_language(recognizer, language)
    except AsrError as exc:
        log.warning("live captions off for %s: %s", language, exc)
        return None
    return recognizer


def _count_skipped(seconds: float) -> None:
    """Audio live captions skipped to catch up, flushed at once (a live job lasts hours)."""
    metrics.RECORDER.inc(metrics.LIVE_CAPTIONS_SKIPPED, amount=seconds)
    metrics.RECORDER.flush(handles.redis_connection())


def end_if_window_passed(stream_id: str) -> str:
    """Idempotent: a stream that came back (or already ended) is left be."""
    try:
        stream = live_lifecycle().expire_if_due(stream_id)
    except NotFound:
        return "gone"
    log.info("live stream %s after its reconnect window: %s", stream_id, stream.status.value)
    return stream.status.value


def record_live(stream_id: str) -> str:
    """The ended stream's recording: the top rendition of every speaker run (slate left out),
    across reconnects, copied into one MP4 that enters the asset pipeline like an upload
    (ladder, captions). Idempotent: a stream that has its asset is left be."""
    live = live_lifecycle()
    try:
        stream = live.store.get(stream_id)
    except NotFound:
        return "gone"
    if stream.asset_id is not None or stream.status != LiveStatus.ENDED:
        return stream.asset_id or "not ended"
    storage = handles.storage()
    try:
        hls = LiveHls.model_validate_json(storage.get_bytes(keys.live_state(stream_id)))
    except NotFound:
        return "nothing was streamed"
    if not hls.speaker_runs():
        return "nothing was streamed"
    top = max(hls.renditions, key=lambda r: r.height)
    folder = work_dir(stream_id) / "recording"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    names = []
    for first, last in hls.speaker_runs():
        for seq in range(first, last + 1):
            name = segment_name(seq)
            storage.download_file(keys.live_hls_object(stream_id, f"{top.name}/{name}"),
                                  folder / name)
            names.append(name)
    listing = folder / "segments.ffconcat"
    listing.write_text("ffconcat version 1.0\n" + "".join(f"file {n}\n" for n in names))
    out = folder / "recording.mp4"
    settings = get_settings()
    ffmpeg.run(commands.concat_segments_command(listing, out), timeout_s=RECORDING_TIMEOUT_S,
               nice=settings.ffmpeg_nice)
    asset = Asset(id=new_asset_id(), title=stream.title, speaker=stream.speaker,
                  language=stream.language, source_filename="recording.mp4")
    storage.put_file(keys.source(asset.id), out, "video/mp4")
    asset_lifecycle().create(asset)
    live.recording_created(stream_id, asset.id)
    pipeline.start(handles.redis_connection(), asset.id)
    shutil.rmtree(work_dir(stream_id), ignore_errors=True)
    log.info("live stream %s: recording of %d segments is asset %s", stream_id, len(names),
             asset.id)
    return asset.id


def transcode_live(stream_id: str) -> str:
    """Make the stream's live HLS until it ends; returns quietly if another worker has it."""
    s = get_settings()
    lease = leases.Lease(handles.redis_connection(), s.queue_prefix, stream_id)
    if not lease.acquire():
        return "held by another worker"
    lease.start_renewing()
    try:
        return _Transcoder(stream_id, lease).run()
    finally:
        lease.release()


class _Transcoder:
    def __init__(self, stream_id: str, lease: leases.Lease) -> None:
        self.id = stream_id
        self.lease = lease
        self.settings = get_settings()
        self.live = live_lifecycle()
        self.storage = handles.storage()
        self.work = work_dir(stream_id) / lease.token  # a worker taking over on this host
        # starts clean, whatever the one before left
        self.hls = self._load_state()
        self.last_segment_at = time.monotonic()
        self.lock = threading.Lock()
        """Guards ``hls``: the segment shipper and the live captions both change it."""
        self.captioner: LiveCaptioner | None = None

    def _load_state(self) -> LiveHls | None:
        try:
            return LiveHls.model_validate_json(self.storage.get_bytes(keys.live_state(self.id)))
        except NotFound:
            return None

    def _stream(self) -> LiveStream:
        return self.live.store.get(self.id)

    def run(self) -> str:
        if self.hls is not None and self.hls.captions is not None:  # taken over
            self._start_captions(self.hls.captions.language)
        try:
            while not self.lease.lost.is_set():
                stream = self.live.settle(self.id)
                if stream.status == LiveStatus.ENDED:
                    self._finish()
                    return "ended"
                if stream.status == LiveStatus.ACTIVE and stream.current is not None:
                    self._speaker(stream)
                elif stream.status == LiveStatus.DISCONNECTED and self.hls is not None:
                    self._slate()
                else:
                    self.lease.lost.wait(STATUS_POLL_S)
            return "lease lost"
        finally:
            if self.captioner is not None:
                self.captioner.abandon()  # another worker has the stream: write nothing more

    # --- live captions ----------------------------------------------------------------------
    def _start_captions(self, language: str) -> None:
        """Live captions for a stream that has (or gets) them, if a model knows its language."""
        hls = self.hls
        assert hls is not None
        if self.captioner is not None or not self.settings.live_captions:
            return
        if hls.captions is None and hls.segments:
            return  # a stream that went on air without them stays so (one track, whole)
        recognizer = live_recognizer(language)
        if recognizer is None:
            return
        if hls.captions is None:
            hls.captions = LiveCaptions(language=language, first_seq=hls.next_seq,
                                        next_seq=hls.next_seq)
        glossary = caption_store.load_glossary(self.storage)
        self.captioner = LiveCaptioner(
            self.storage, self.id, hls, self.lock,
            lambda: store_playlists(self.storage, self.id, hls),
            CaptionerOptions(recognizer, glossary, step_s=hls.segment_s,
                             nice=self.settings.ffmpeg_nice + 5), _count_skipped)
        self.captioner.start()

    # --- the speaker ------------------------------------------------------------------------
    def _speaker(self, stream: LiveStream) -> None:
        session = stream.current
        assert session is not None
        url = f"{self.settings.rtmp_playback_base}/{internal_name(stream.id)}"
        try:
            info = self._probe(url, session.publisher)
            validate_live(info, handles.limits(self.settings))
        except (FfmpegFailed, FfmpegTimeout, InvalidMedia, PodiumError) as exc:
            if not self._still_on(session.publisher):
                return  # the publisher went away meanwhile (its RTMP server, maybe): no fault
            code = exc.code if isinstance(exc, InvalidMedia) else "unreadable_stream"
            log.warning("live stream %s: cannot read %s (%s); dropping it", self.id,
                        session.publisher, exc)
            self.live.drop_publisher(self.id, session.publisher, code)
            self._wait_while(lambda s: s.current is not None
                             and s.current.publisher == session.publisher)
            return
        if self.hls is None:
            assert info.width and info.height
            self.hls = LiveHls(
                renditions=select_renditions(info.width, info.height, info.fps, info.has_audio),
                segment_s=self.settings.live_segment_s)
        plans = self.hls.renditions
        if plans[0].audio_kbps is not None and not info.has_audio:
            self.live.drop_publisher(self.id, session.publisher, "no_audio_stream")
            return
        self._start_captions(stream.language)
        out = self.work / "run"
        start = self.hls.start_run(slate=False)
        speech = self._speech_dir(start) if plans[0].audio_kbps is not None else None
        args = commands.live_ladder_command(
            url, out, plans, segment_s=self.hls.segment_s, start_number=start,
            preset=self.settings.x264_preset, threads=self.settings.ffmpeg_threads,
            speech_dir=speech)
        stop = threading.Event()
        self.last_segment_at = time.monotonic()
        limit = max(STALL_MIN_S, STALL_SEGMENTS * self.hls.segment_s)
        starved = threading.Event()

        def done(s: LiveStream) -> bool:
            if time.monotonic() - self.last_segment_at > limit:
                starved.set()  # data arrives (nginx keeps it) but nothing decodes: garbage
                return True
            return s.status == LiveStatus.ENDED or s.current is None
        watcher = self._stop_when(stop, done)
        try:
            run_to_storage(self.storage, self.id, self.hls, args, out, stop, self._opts(),
                           self._segment, self.lock)
        except (FfmpegFailed, FfmpegTimeout) as exc:
            log.warning("live stream %s: the speaker's run ended with %s", self.id, exc.code)
        finally:
            stop.set()
            watcher.join()
            if self.captioner is not None:
                self.captioner.end_run()
        if (starved.is_set() or self.hls.next_seq == start) and not self.lease.lost.is_set():
            # no segment for too long, or not one: a stream that probes but cannot be decoded;
            # without this the loop would probe and fail again while the publisher stays
            log.warning("live stream %s: no segment from %s for %.0f s; dropping it", self.id,
                        session.publisher, limit)
            self.live.drop_publisher(self.id, session.publisher, "unreadable_stream")
            self._wait_while(lambda s: s.current is not None
                             and s.current.publisher == session.publisher)

    def _still_on(self, publisher: str) -> bool:
        current = self.live.settle(self.id).current
        return current is not None and current.publisher == publisher

    def _probe(self, url: str, publisher: str) -> MediaInfo:
        """The stream's video and audio. The RTMP server may not list the stream for a moment
        after on_publish said yes (ffprobe: "No such stream"), so quick failures are retried
        while the publisher is on; a stream that gives nothing readable within the limit
        (garbage) fails."""
        deadline = time.monotonic() + PROBE_TIMEOUT_S
        while True:
            left = deadline - time.monotonic()
            try:
                raw = ffmpeg.run(commands.live_probe_command(url), timeout_s=max(1.0, left),
                                 nice=self.settings.ffmpeg_nice, capture_stdout=True).stdout
                return parse_live_probe(raw)
            except FfmpegFailed:
                if (time.monotonic() + PROBE_RETRY_S >= deadline
                        or not self._still_on(publisher)):
                    raise
                time.sleep(PROBE_RETRY_S)

    # --- the slate --------------------------------------------------------------------------
    def _slate(self) -> None:
        assert self.hls is not None
        out = self.work / "slate"
        start = self.hls.start_run(slate=True)
        font = commands.SLATE_FONT if commands.SLATE_FONT.is_file() else None
        args = commands.slate_live_command(
            out, self.hls.renditions, text=SLATE_TEXT, fontfile=font,
            segment_s=self.hls.segment_s, start_number=start, preset=self.settings.x264_preset,
            threads=self.settings.ffmpeg_threads)
        stop = threading.Event()
        if self.captioner is not None:
            self.captioner.begin_run(start, None)
        watcher = self._stop_when(stop, lambda s: s.status != LiveStatus.DISCONNECTED
                                  or s.window_passed())
        try:
            run_to_storage(self.storage, self.id, self.hls, args, out, stop, self._opts(),
                           self._segment, self.lock)
        except (FfmpegFailed, FfmpegTimeout) as exc:
            log.warning("live stream %s: the slate run ended with %s", self.id, exc.code)
        finally:
            stop.set()
            watcher.join()
            if self.captioner is not None:
                self.captioner.end_run()

    # --- helpers ----------------------------------------------------------------------------
    def _opts(self) -> RunOptions:
        s = self.settings
        return RunOptions(timeout_s=s.live_max_duration_s + s.live_reconnect_window_s + 600,
                          nice=s.ffmpeg_nice, measure_start=self.captioner is not None)

    def _speech_dir(self, start: int) -> Path | None:
        """Where the run's audio goes for live captions (its own folder: the captions may
        still read one run's audio while the next has begun)."""
        if self.captioner is None:
            return None
        folder = self.work / f"speech-{start}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.captioner.begin_run(start, folder)
        return folder

    def _segment(self, segment: LiveSegment) -> None:
        self.last_segment_at = time.monotonic()
        if self.captioner is not None:
            self.captioner.segment_added(segment)
        log.debug("live stream %s: segment %d (%.2f s)", self.id, segment.seq, segment.duration)

    def _stop_when(self, stop: threading.Event, done: object) -> threading.Thread:
        """A thread that sets ``stop`` once ``done(stream)`` holds or the lease is lost."""
        def watch() -> None:
            while not stop.wait(STATUS_POLL_S):
                if self.lease.lost.is_set():
                    break
                try:
                    if done(self.live.settle(self.id)):  # type: ignore[operator]
                        break
                except PodiumError as exc:
                    log.warning("live stream %s: status check failed: %s", self.id, exc)
            stop.set()
        thread = threading.Thread(target=watch, name=f"live-watch-{self.id}", daemon=True)
        thread.start()
        return thread

    def _wait_while(self, holds: object, limit_s: float = 30) -> None:
        waited = 0.0
        while waited < limit_s and not self.lease.lost.is_set():
            if not holds(self._stream()):  # type: ignore[operator]
                return
            self.lease.lost.wait(STATUS_POLL_S)
            waited += STATUS_POLL_S

    def _finish(self) -> None:
        if self.captioner is not None:
            self.captioner.close(CAPTIONS_FLUSH_S)
        if self.hls is not None and not self.hls.ended:
            with self.lock:
                self.hls.ended = True
                store_playlists(self.storage, self.id, self.hls)
            pipeline.settle_cuts(handles.redis_connection(), self.id)  # channels cut to it
        if self.hls is not None and self.hls.speaker_runs():
            pipeline.record_live(handles.redis_connection(), self.id)
        shutil.rmtree(self.work, ignore_errors=True)

