"""Live captions while a stream runs: one thread per stream beside the live transcoder.

The speaker's ffmpeg run also writes its audio as 16 kHz mono PCM (``SpeechReader`` reads the
files as they grow). Each time a segment of new audio has come with the video segments, the
thread hears the window from the first word not final yet to the end of the newest segment,
through the same ``SpeechRecognizer.transcribe`` as recorded messages (a short WAV), makes
cues of the words that are final (``ingest.live.captions``) and writes the WebVTT segment of
every video segment they cover, in order, then the playlists. The video never waits for it:
the shipper only hands it segment numbers, and recognition runs in a process of its own at a
lower priority (the transcode's threads never wait for a GIL held by a starved thread).
Segments of the slate, of a run without audio, or that recognition skipped get empty WebVTT
segments, so the subtitle playlist has no gap.

When recognition falls behind (a loaded machine), it skips ahead to the newest audio rather
than let the delay grow: the skipped segments stay empty, ``on_skip`` counts the seconds.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import shutil
import tempfile
import threading
import time
import wave
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.captions.asr import SpeechRecognizer
from ingest.captions.files import Cue, Word
from ingest.errors import PodiumError
from ingest.live.captions import (
    LEAD_S,
    MUX_ORIGIN_PTS,
    audio_offset,
    cues_of,
    is_silence,
    segment_cues,
    settle,
    trim_to_sound,
    webvtt_segment,
)
from ingest.live.hls import LiveCaptions, LiveHls, LiveSegment, subtitle_segment_name
from ingest.media.commands import SPEECH_CHUNK_PATTERN, SPEECH_RATE
from ingest.storage import keys
from ingest.storage.s3 import Storage
from runtime.process import child_setup

log = logging.getLogger(__name__)
VTT_TYPE = "text/vtt"
EMPTY_VTT = "WEBVTT\n\n"
POLL_S = 0.2
STEP_S = 2.0
"""Recognition runs once this much new audio has come (a 2 s segment). Each call costs about
the same whatever its length (Whisper pads to 30 s), so a slow machine, whose calls take
longer, hears longer windows less often by itself: the next one starts when this one ends."""
MAX_LAG_S = 16.0
"""Unheard audio beyond this: skip to the newest STEP_S rather than fall further behind."""
MAX_FAILURES = 3
HEAR_TIMEOUT_S = 120.0
AUDIO_WAIT_S = 2.0
"""How long a window waits for its audio to reach the segment end (the PCM output lags the
video by a packet or two) before it is heard as far as it has come."""


def _recognition_process(nice: int, parent_pid: int) -> None:
    """The recognition process: dies with the worker, runs ``nice`` steps nicer."""
    child_setup(nice, parent_pid)()


def _warm_up(recognizer: SpeechRecognizer, language: str) -> None:
    """Load the model before the first words come (in the recognition process): a second of
    near-silence through the same call."""
    with tempfile.TemporaryDirectory(prefix="podium-warm-") as folder:
        wav = Path(folder) / "warm.wav"
        _write_wav(wav, np.ones(SPEECH_RATE, dtype=np.int16))
        recognizer.transcribe(wav, language)


def _write_wav(path: Path, samples: np.ndarray[Any, Any]) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SPEECH_RATE)
        out.writeframes(samples.astype("<i2").tobytes())


class SpeechReader:
    """A run's PCM files (``SPEECH_CHUNK_PATTERN``) read as ffmpeg writes them; each file is
    deleted once read and a later one exists. Keeps the samples from ``forget_before`` on."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.index = 0
        self.offset = 0
        self.carry = b""
        self.kept = np.zeros(0, dtype=np.int16)
        self.kept_from = 0
        """Sample number of kept[0] since the run's output time 0."""

    @property
    def heard_s(self) -> float:
        """Seconds of audio read so far."""
        return (self.kept_from + self.kept.size) / SPEECH_RATE

    def _path(self, index: int) -> Path:
        return self.folder / (SPEECH_CHUNK_PATTERN % index)

    def poll(self) -> None:
        while True:
            current, following = self._path(self.index), self._path(self.index + 1)
            complete = following.exists()  # ffmpeg closed this file before opening the next
            try:
                with current.open("rb") as f:
                    f.seek(self.offset)
                    data = f.read()
            except FileNotFoundError:
                return
            self.offset += len(data)
            self._append(data)
            if not complete:
                return
            current.unlink(missing_ok=True)
            self.index, self.offset = self.index + 1, 0

    def _append(self, data: bytes) -> None:
        data = self.carry + data
        whole = len(data) // 2 * 2
        self.carry = data[whole:]
        if whole:
            self.kept = np.concatenate((self.kept, np.frombuffer(data[:whole], dtype="<i2")))

    def window(self, start_s: float, end_s: float) -> np.ndarray[Any, Any]:
        first = max(0, round(start_s * SPEECH_RATE) - self.kept_from)
        last = max(first, round(end_s * SPEECH_RATE) - self.kept_from)
        return self.kept[first:last]

    def forget_before(self, start_s: float) -> None:
        drop = min(self.kept.size, max(0, round(start_s * SPEECH_RATE) - self.kept_from))
        self.kept = self.kept[drop:]
        self.kept_from += drop

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class _Run:
    """One ffmpeg run, in local time (0 = its first video frame)."""

    first_seq: int
    reader: SpeechReader | None
    first_pts: int | None = None
    bounds: dict[int, tuple[float, float]] = field(default_factory=dict)
    end: float = 0.0
    """Local end of its newest segment."""
    pending: float = 0.0
    """Local time the next window starts at: every word before it is final."""
    heard_to: float = 0.0
    cues: list[Cue] = field(default_factory=list)
    ended: bool = False
    failed: bool = False
    waiting_since: float | None = None

    @property
    def offset(self) -> float:
        return audio_offset(self.first_pts if self.first_pts is not None else MUX_ORIGIN_PTS)

    def ready(self, seq: int) -> bool:
        if self.reader is None or self.failed:
            return True
        _start, end = self.bounds[seq]
        return self.pending >= end - 1e-6 or (self.ended and self.heard_to >= self.end)


@dataclass(frozen=True)
class CaptionerOptions:
    recognizer: SpeechRecognizer
    glossary: Sequence[str] = ()
    step_s: float = STEP_S
    max_lag_s: float = MAX_LAG_S
    nice: int = 15
    """How much nicer than the worker the recognition process runs: the live transcode (ffmpeg
    at its own niceness) comes first, captions skip ahead when they cannot keep up."""


class LiveCaptioner:
    """The stream's subtitle rendition, written by its own thread. ``lock`` guards ``hls``
    (the shipper adds segments under it); ``store`` writes the state and playlists."""

    def __init__(self, storage: Storage, stream_id: str, hls: LiveHls, lock: threading.Lock,
                 store: Callable[[], None], opts: CaptionerOptions,
                 on_skip: Callable[[float], None] = lambda _s: None) -> None:
        if hls.captions is None:
            raise ValueError("the stream has no live captions")
        self.storage = storage
        self.stream_id = stream_id
        self.hls = hls
        self.captions: LiveCaptions = hls.captions
        self.lock = lock
        self.store = store
        self.opts = opts
        self.on_skip = on_skip
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.unwritten: deque[tuple[LiveSegment, _Run | None]] = deque()
        self.run: _Run | None = None
        self.closing = False
        self.abandoned = threading.Event()
        self.thread = threading.Thread(target=self._main, name=f"live-captions-{stream_id}",
                                       daemon=True)
        self.pool = ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"),
            initializer=_recognition_process, initargs=(opts.nice, os.getpid()))

    # --- called by the transcoder and its shipper --------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def begin_run(self, first_seq: int, speech_dir: Path | None) -> None:
        """A run starts at ``first_seq``; its audio comes into ``speech_dir`` (None: silent)."""
        self.events.put(("run", (first_seq, speech_dir)))

    def segment_added(self, segment: LiveSegment) -> None:
        self.events.put(("segment", segment))

    def end_run(self) -> None:
        self.events.put(("end", None))

    def abandon(self) -> None:
        """Stop at once and write nothing more (another worker has the stream now)."""
        self.abandoned.set()
        self.events.put(("close", None))

    def close(self, timeout_s: float) -> None:
        """Hear what is left, write every segment's WebVTT, stop (waits ``timeout_s``)."""
        self.events.put(("close", None))
        self.thread.join(timeout_s)
        if self.thread.is_alive():
            log.warning("live stream %s: captions still busy after %.0f s", self.stream_id,
                        timeout_s)

    # --- the thread --------------------------------------------------------------------------
    def _main(self) -> None:
        # the process starts and loads its model while the speaker's first segments are made
        self.pool.submit(_warm_up, self.opts.recognizer, self.captions.language)
        with self.lock:
            missing = [s for s in self.hls.segments if s.seq >= self.captions.next_seq]
        # a worker that took the stream over: the segments before it stay without words
        self.unwritten.extend((s, None) for s in missing)
        failures = 0
        while not self.abandoned.is_set():
            try:
                self._step()
                failures = 0
            except Exception:  # the subtitles must go on: a store that failed is tried again,
                # a run whose hearing keeps failing is written without words from then on
                log.exception("live stream %s: live captions failed", self.stream_id)
                failures += 1
                if failures >= MAX_FAILURES and self.run is not None:
                    self.run.failed = True
                time.sleep(POLL_S)
            if self.closing and not self.unwritten:
                break
        self._retire()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _step(self) -> None:
        try:
            self._handle(*self.events.get(timeout=POLL_S))
            while True:
                self._handle(*self.events.get_nowait())
        except queue.Empty:
            pass
        run = self.run
        if run is not None and run.reader is not None and not run.failed and run.bounds:
            self._listen(run)
        self._write_ready()

    def _handle(self, kind: str, value: Any) -> None:
        if kind == "run":
            self._retire()
            first_seq, speech_dir = value
            self.run = _Run(first_seq, SpeechReader(speech_dir) if speech_dir else None)
        elif kind == "segment":
            self._add(value)
        elif kind == "end" and self.run is not None:
            self.run.ended = True
        elif kind == "close":
            self.closing = True
            if self.run is not None:
                self.run.ended = True

    def _add(self, segment: LiveSegment) -> None:
        run = self.run if self.run is not None and segment.seq >= self.run.first_seq else None
        if run is not None:
            if not run.bounds:
                run.first_pts = segment.start_pts
                if segment.start_pts is None and run.reader is not None:
                    log.warning("live stream %s: run %d has no measured start; its captions "
                                "assume the video starts with the audio", self.stream_id,
                                run.first_seq)
            run.bounds[segment.seq] = (run.end, run.end + segment.duration)
            run.end += segment.duration
        self.unwritten.append((segment, run))

    def _retire(self) -> None:
        """The run before a new one: hear what it left, then drop its audio."""
        run = self.run
        if run is None or run.reader is None:
            return
        run.ended = True
        try:
            if (not run.failed and run.bounds and run.heard_to < run.end
                    and not self.abandoned.is_set()):
                self._listen(run)
        except Exception:  # its segments are then written without words, never left out
            log.exception("live stream %s: captions of run %d failed", self.stream_id,
                          run.first_seq)
            run.failed = True
        finally:
            run.reader.close()

    # --- hearing -----------------------------------------------------------------------------
    def _listen(self, run: _Run) -> None:
        reader = run.reader
        assert reader is not None
        reader.poll()
        behind = run.end - run.pending
        if behind > self.opts.max_lag_s:
            skip_to = run.end - self.opts.step_s
            log.warning("live stream %s: captions %.1f s behind; skipping %.1f s of audio",
                        self.stream_id, behind, skip_to - run.pending)
            self.on_skip(skip_to - run.pending)
            run.pending = run.heard_to = skip_to
        if not run.ended and run.end - run.heard_to < self.opts.step_s:
            return
        audio_end = reader.heard_s - run.offset
        if audio_end < run.end - 0.05 and not run.ended:
            run.waiting_since = run.waiting_since or time.monotonic()
            if time.monotonic() - run.waiting_since < AUDIO_WAIT_S:
                return
        run.waiting_since = None
        end = min(run.end, max(audio_end, run.pending))
        began = time.monotonic()
        lead = max(0.0, run.pending - LEAD_S)
        words = self._hear(reader.window(lead + run.offset, end + run.offset), lead)
        log.debug("live stream %s: heard %.1f-%.1f s in %.2f s: %d words", self.stream_id,
                  run.pending, end, time.monotonic() - began, len(words))
        heard = settle(words, run.pending, end, force=run.ended)
        previous_end = run.cues[-1].end if run.cues else 0.0
        run.cues.extend(cues_of(heard.final, self.captions.language, heard.committed_to,
                                previous_end))
        run.pending, run.heard_to = heard.committed_to, end
        if run.ended:
            run.heard_to = run.end  # nothing more will come
        reader.forget_before(run.pending - LEAD_S + run.offset)

    def _hear(self, samples: np.ndarray[Any, Any], start: float) -> list[Word]:
        if is_silence(samples, SPEECH_RATE):
            return []
        assert self.run is not None and self.run.reader is not None
        wav = self.run.reader.folder / "window.wav"
        _write_wav(wav, samples)
        try:
            transcript = self.pool.submit(self.opts.recognizer.transcribe, wav,
                                          self.captions.language, self.opts.glossary,
                                          ).result(timeout=HEAR_TIMEOUT_S)
        except PodiumError as exc:
            log.warning("live stream %s: recognition failed (%s); this run goes on without "
                        "captions", self.stream_id, exc)
            self.run.failed = True
            return []
        words = [Word(w.word, round(w.start + start, 3), round(w.end + start, 3))
                 for w in transcript.words]
        return trim_to_sound(words, samples, start, SPEECH_RATE)

    # --- writing -----------------------------------------------------------------------------
    def _write_ready(self) -> None:
        written = None
        while self.unwritten and not self.abandoned.is_set():
            segment, run = self.unwritten[0]
            if run is not None and not run.ready(segment.seq):
                break
            self.storage.put_bytes(
                keys.live_hls_object(self.stream_id, f"{self.captions.rendition}/"
                                     f"{subtitle_segment_name(segment.seq)}"),
                self._text(segment, run).encode(), VTT_TYPE)
            written = segment.seq
            self.unwritten.popleft()
        if written is None:
            return
        with self.lock:
            if self.abandoned.is_set():
                return
            self.captions.next_seq = written + 1
            self.store()
        run = self.run
        if run is not None and self.unwritten and self.unwritten[0][1] is run:
            start = run.bounds[self.unwritten[0][0].seq][0]
            run.cues = [c for c in run.cues if c.end > start - 1.0]

    def _text(self, segment: LiveSegment, run: _Run | None) -> str:
        if run is None or run.first_pts is None:
            return EMPTY_VTT
        start, end = run.bounds[segment.seq]
        cues = segment_cues(run.cues, start, end) if run.reader is not None else []
        return webvtt_segment(cues, run.first_pts)
