"""The live watcher: a process beside every live worker (`podium worker --live`) that looks at
every open live stream once a second.

Nothing else looks at a stream when the RTMP server is gone or nobody transcodes it:

- an RTMP server that dies or restarts never sends on_publish_done: ``LiveLifecycle.settle``
  disconnects a publisher it has not reported for a while (window, slate, webhook, as a clean
  disconnect), and ends a stream whose reconnect window has passed;
- a live worker that dies lets the stream's lease lapse; while the speaker publishes, the RTMP
  server's on_update queues a new transcoder, but a `disconnected` stream has no publisher and
  no on_update. The watcher queues the transcoder of every `active` or `disconnected` stream
  whose lease nobody holds (``pipeline.ensure_live_transcoder``, idempotent), so the slate
  goes on and the speaker's return continues the same playlist.

Every live worker runs one (they agree through the lease and the enqueue lock). It is a
process forked before the worker takes any job, not a thread: RQ forks a work horse per job,
and a thread holding a lock (Redis, S3) at that moment would leave the horse deadlocked.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from multiprocessing.process import BaseProcess

from config import get_settings
from ingest.errors import NotFound, PodiumError
from ingest.live import lease as leases
from ingest.live.models import LiveStatus
from runtime import handles
from workers import pipeline
from workers.events import live_lifecycle

log = logging.getLogger(__name__)
WATCH_S = 1.0
"""Seconds between two looks (a stream is taken over at most lease TTL + this after its
worker died)."""
NEEDS_TRANSCODER = frozenset({LiveStatus.ACTIVE, LiveStatus.DISCONNECTED})


def watch_once(ended: set[str]) -> list[str]:
    """One look at every open stream; returns the ids whose lease nobody held and whose
    transcoder is now queued (or was already on its way). ``ended``
    collects streams seen `ended` (final), which later looks skip without reading them."""
    live = live_lifecycle()
    conn = handles.redis_connection()
    prefix = get_settings().queue_prefix
    queued = []
    for stream_id in live.store.ids():
        if stream_id in ended:
            continue
        try:
            stream = live.settle(stream_id)
        except NotFound:
            continue
        except PodiumError as exc:
            log.warning("live watch: %s: %s", stream_id, exc)
            continue
        if stream.status == LiveStatus.ENDED:
            ended.add(stream_id)
        elif (stream.status in NEEDS_TRANSCODER and not leases.held(conn, prefix, stream_id)
              and pipeline.ensure_live_transcoder(conn, stream_id) is not None):
            queued.append(stream_id)
    return queued


def watch(stopping: threading.Event) -> None:
    """Look every ``WATCH_S`` until ``stopping`` is set; a failed look is logged, not fatal."""
    ended: set[str] = set()
    while not stopping.wait(WATCH_S):
        try:
            watch_once(ended)
        except Exception:  # Redis or the bucket away: the next look tries again
            log.exception("live watch: a look failed")


def _main() -> None:
    # dies with its worker (runtime.process.die_with_forking_parent, set before the fork);
    # Ctrl-C reaches the whole process group: the worker decides, not this helper
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    handles.reset()  # clients of its own, not the worker's
    watch(stopping)


def start() -> BaseProcess:
    """Fork the watcher (before the worker has any other thread or job)."""
    proc = multiprocessing.get_context("fork").Process(target=_main, name="podium-live-watch",
                                                       daemon=True)
    proc.start()
    return proc
